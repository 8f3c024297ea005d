// parse_campaign: a good file read in full, and bad files refused at
// "file:line:column: reason".
#include <gtest/gtest.h>

#include "faultinject/campaign/campaign.h"

namespace uldd::campaign {
namespace {

constexpr const char* kGood = R"(
[campaign]
name = "smoke"
seed = 42
faults = 10
interval_ms = 300
settle_ms = 1500

[[device]]
name = "disk0"
kind = "disk"
size = "32MiB"
driver = "bin/driver"

[[fault]]
type = "sigkill"
weight = 3

[[fault]]
type = "stall"
params = { ms = 600, after = 1 }
devices = ["disk0"]

[workload]
disk = "verified-writer"
blocks = 1024
block_size = 8192

[invariants]
lost_writes = 0
corrupted = 0
supervisor_survives = true
min_recovered_percent = 95
)";

TEST(CampaignParser, ReadsEveryKey) {
  auto c = parse_campaign(kGood, "/x/smoke.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->name, "smoke");
  EXPECT_EQ(c->seed, 42u);
  EXPECT_EQ(c->faults, 10u);
  EXPECT_EQ(c->interval_ms, 300u);
  EXPECT_EQ(c->settle_ms, 1500u);
  ASSERT_EQ(c->devices.size(), 1u);
  EXPECT_EQ(c->devices[0].size_bytes, 32u << 20);
  EXPECT_EQ(c->devices[0].driver, "/x/bin/driver");  // relative to the file
  ASSERT_EQ(c->fault_kinds.size(), 2u);
  EXPECT_EQ(c->fault_kinds[0].weight, 3u);
  EXPECT_EQ(c->fault_kinds[1].params.at("ms"), "600");
  EXPECT_EQ(c->fault_kinds[1].where, "/x/smoke.toml:20:8");
  EXPECT_EQ(c->disk_workload.block_size, 8192u);
  EXPECT_DOUBLE_EQ(c->invariants.min_recovered_percent, 95.0);
}

struct BadCase {
  const char* text;
  const char* want;  // the whole message
};

class CampaignParserBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(CampaignParserBad, RefusedAtLineAndColumn) {
  auto c = parse_campaign(GetParam().text, "c.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().describe(), GetParam().want);
}

constexpr const char* kHead =
    "[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n";

INSTANTIATE_TEST_SUITE_P(
    Files, CampaignParserBad,
    ::testing::Values(
        BadCase{"[campaign]\nname = \"x\"\nfautls = 3\n",
                "c.toml:3:1: unknown key 'fautls' in [campaign] (did you mean 'faults'?)"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\nduration_s = 5\n",
                "c.toml:4:14: [campaign] needs exactly one of 'faults' (a count) and 'duration_s'"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\nkind = "
                "\"tape\"\n[[fault]]\ntype = \"sigkill\"\n",
                "c.toml:6:8: 'kind' = \"tape\" is not \"disk\" or \"nic\""},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\ndevices = [\"disk9\"]\n",
                "c.toml:8:12: 'devices' names \"disk9\", which no [[device]] defines"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"stall\"\nparams = { ms = 1.5 }\n",
                "c.toml:8:17: params.ms must be a string, an integer or a boolean"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\nsize = "
                "\"1MiB\"\n[[fault]]\ntype = \"sigkill\"\n[workload]\ndisk = "
                "\"verified-writer\"\nblocks = 1000\n",
                "c.toml:11:10: blocks x block_size = 4096000 bytes is more than disk0's size "
                "(1048576)"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\n[invariants]\nmin_recovered_percent = 101\n",
                "c.toml:9:25: 'min_recovered_percent' = 101 is out of range 0..100"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n",
                "c.toml:1:1: no [[fault]] to inject"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\nweight = 0\n",
                "c.toml:8:10: 'weight' = 0 is out of range 1..1000000"}));

TEST(CampaignParser, TomlSyntaxErrorIsLocated) {
  auto c = parse_campaign("[campaign]\nname = \"x\nfaults = 3\n", "c.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().describe().rfind("c.toml:2:", 0), 0u) << c.error().describe();
}

TEST(CampaignParser, MissingFileNamesIt) {
  auto c = load_campaign_file("/nonexistent/campaign.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().describe().find("/nonexistent/campaign.toml"), std::string::npos);
}

}  // namespace
}  // namespace uldd::campaign
