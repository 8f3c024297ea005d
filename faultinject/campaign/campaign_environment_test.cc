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

TEST(SupervisorConfigFor, NicInItsNamespaces) {
  auto c = parse_campaign(R"(
[campaign]
name = "cfg"
faults = 1
[[device]]
name = "disk0"
[[device]]
name = "nic0"
kind = "nic"
policy = "/etc/p/campaign.toml"
[[device]]
name = "nic1"
kind = "nic"
[[fault]]
type = "sigkill"
)",
                          "cfg.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string text = supervisor_config_for(*c, "/tmp/uldd-campaign.Ab3xYz", "unix:path=/x/bus");
  auto cfg = supervisor::parse_config(text, "generated");
  ASSERT_TRUE(cfg.ok()) << cfg.error().describe() << "\n" << text;
  ASSERT_EQ(cfg->disks.size(), 1u);
  ASSERT_EQ(cfg->nics.size(), 2u);
  NicEndpoints e0 = nic_endpoints_for("/tmp/uldd-campaign.Ab3xYz", "nic0", 0);
  NicEndpoints e1 = nic_endpoints_for("/tmp/uldd-campaign.Ab3xYz", "nic1", 1);
  EXPECT_EQ(cfg->nics[0].name, "nic0");
  EXPECT_EQ(cfg->nics[0].tap, e0.tap);
  EXPECT_EQ(cfg->nics[0].tap_netns, e0.host_netns);
  EXPECT_EQ(cfg->nics[0].wire_tap, e0.wire_tap);
  EXPECT_EQ(cfg->nics[0].wire_netns, e0.wire_netns);
  EXPECT_EQ(cfg->nics[0].policy, "campaign");
  EXPECT_EQ(cfg->nics[1].policy, "default");
  EXPECT_NE(cfg->nics[0].mac, cfg->nics[1].mac);
  // Unique per run (the directory's suffix) and per NIC; interface names fit IFNAMSIZ.
  EXPECT_EQ(e0.host_netns, "uldd-campaign-Ab3xYz-0a");
  EXPECT_EQ(e0.tap, "ucAb3xYzt0");
  EXPECT_NE(e0.tap, e1.tap);
  EXPECT_NE(e0.wire_netns, e1.wire_netns);
  EXPECT_LE(e1.wire_tap.size(), 15u);
  EXPECT_EQ(e0.host_address, "198.18.0.1");
  EXPECT_EQ(e1.wire_address, "198.18.1.2");
}

}  // namespace
}  // namespace uldd::campaign
