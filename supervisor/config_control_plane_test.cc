// Tests of the control-plane keys of [supervisor]: dbus, control_group,
// metrics_file — defaults, accepted forms, and refusals with their location.
#include <gtest/gtest.h>

#include <string>

#include "supervisor/config.h"

namespace uldd::supervisor {
namespace {

std::string config_with(const std::string& supervisor_line) {
  return "[supervisor]\nruntime_dir = \"/srv/u\"\n" + supervisor_line +
         "\n[[disk]]\nname = \"d0\"\nbacking_file = \"d0.img\"\n";
}

std::string error_of(const std::string& text) {
  auto c = parse_config(text, "t.toml");
  return c.ok() ? "" : c.error().describe();
}

TEST(ConfigControlPlaneTest, DefaultsAreSystemBusUlddGroupAndMetricsUnderRuntimeDir) {
  auto c = parse_config(config_with(""), "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->dbus, "system");
  EXPECT_EQ(c->control_group, "uldd");
  EXPECT_EQ(c->metrics_file, "/srv/u/metrics.prom");
  auto d = parse_config(kDefaultConfigToml, "<embedded default>");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->metrics_file, "/run/uldd/metrics.prom");
}

TEST(ConfigControlPlaneTest, AcceptsAddressesNoneEmptyGroupAndAbsoluteMetrics) {
  auto c = parse_config(config_with("dbus = \"unix:path=/tmp/x/bus\"\ncontrol_group = \"\"\n"
                                    "metrics_file = \"/var/lib/node_exporter/uldd.prom\""),
                        "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->dbus, "unix:path=/tmp/x/bus");
  EXPECT_EQ(c->control_group, "");
  EXPECT_EQ(c->metrics_file, "/var/lib/node_exporter/uldd.prom");
  auto n = parse_config(config_with("dbus = \"none\"\nmetrics_file = \"\""), "t.toml");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->dbus, "none");
  EXPECT_TRUE(n->metrics_file.empty());
}

TEST(ConfigControlPlaneTest, RefusesBadValuesNamingKeyAndPlace) {
  EXPECT_EQ(error_of(config_with("dbus = \"session\"")),
            "t.toml:3:8: 'dbus' = \"session\" is neither \"system\", \"none\" nor a D-Bus address "
            "such as "
            "\"unix:path=/run/uldd/bus\"");
  EXPECT_EQ(error_of(config_with("control_group = \"Wheel Users\"")),
            "t.toml:3:17: 'control_group' is not a valid group name");
  EXPECT_NE(error_of(config_with("dbus = 7")).find("t.toml:3:8"), std::string::npos);
  EXPECT_NE(error_of(config_with("metric_file = \"m\"")).find("did you mean 'metrics_file'"),
            std::string::npos);
}

}  // namespace
}  // namespace uldd::supervisor
