// supervisor_config_for: the configuration uldd-campaign generates is one the
// supervisor's own parser accepts, with the campaign's devices, driver,
// policy and the private bus in it.
#include "faultinject/campaign/campaign_environment.h"

#include <gtest/gtest.h>

#include "supervisor/config.h"

namespace uldd::campaign {
namespace {

TEST(SupervisorConfigFor, AcceptedBySupervisorParser) {
  auto c = parse_campaign(R"(
[campaign]
name = "cfg"
faults = 1
[[device]]
name = "disk0"
size = "32MiB"
driver = "/opt/x/uldd-nvme-driver-corrupting"
policy = "/etc/p/campaign.toml"
[[device]]
name = "disk1"
[[fault]]
type = "sigkill"
)",
                          "cfg.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string text = supervisor_config_for(*c, "/tmp/uldd-campaign.abc", "unix:path=/tmp/x/bus");
  auto cfg = supervisor::parse_config(text, "generated");
  ASSERT_TRUE(cfg.ok()) << cfg.error().describe() << "\n" << text;
  EXPECT_EQ(cfg->dbus, "unix:path=/tmp/x/bus");
  EXPECT_EQ(cfg->runtime_dir, "/tmp/uldd-campaign.abc/run");
  EXPECT_EQ(cfg->control_group, "");
  ASSERT_EQ(cfg->disks.size(), 2u);
  EXPECT_EQ(cfg->disks[0].name, "disk0");
  EXPECT_EQ(cfg->disks[0].size_bytes, 32u << 20);
  EXPECT_EQ(cfg->disks[0].driver, "/opt/x/uldd-nvme-driver-corrupting");
  EXPECT_EQ(cfg->disks[0].policy, "campaign");
  EXPECT_EQ(cfg->disks[0].fuse_path, "/tmp/uldd-campaign.abc/run/disk0");
  EXPECT_EQ(cfg->disks[1].policy, "default");
  EXPECT_TRUE(cfg->disks[1].driver.empty());
}

}  // namespace
}  // namespace uldd::campaign
