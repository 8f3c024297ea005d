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

TEST(CampaignParser, ReadsNicWorkloadAndDatagramInvariants) {
  auto c = parse_campaign(R"(
[campaign]
name = "nic"
faults = 4
[[device]]
name = "nic0"
kind = "nic"
policy = "p/campaign.toml"
[[fault]]
type = "sigkill"
[workload]
nic = "udp-echo"
echo_size = 256
echo_rate = 500
echo_window = 8
echo_timeout_ms = 750
[invariants]
lost_datagrams = 40
corrupted_datagrams = 0
duplicated_datagrams = 3
reordered_datagrams = 2
)",
                          "/x/nic.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  ASSERT_EQ(c->devices.size(), 1u);
  EXPECT_EQ(c->devices[0].kind, "nic");
  EXPECT_EQ(c->devices[0].policy, "/x/p/campaign.toml");
  EXPECT_EQ(c->nic_workload.name, "udp-echo");
  EXPECT_EQ(c->nic_workload.size, 256u);
  EXPECT_EQ(c->nic_workload.rate, 500u);
  EXPECT_EQ(c->nic_workload.window, 8u);
  EXPECT_EQ(c->nic_workload.timeout_ms, 750u);
  EXPECT_EQ(c->invariants.lost_datagrams, 40u);
  EXPECT_EQ(c->invariants.corrupted_datagrams, 0u);
  EXPECT_EQ(c->invariants.duplicated_datagrams, 3u);
  EXPECT_EQ(c->invariants.reordered_datagrams, 2u);
  EXPECT_TRUE(c->disk_workload.name.empty());
}

TEST(CampaignParser, NicDefaultsAreStrict) {
  auto c = parse_campaign(
      "[campaign]\nname = \"n\"\nfaults = 1\n[[device]]\nname = \"nic0\"\nkind = \"nic\"\n"
      "[[fault]]\ntype = \"sigkill\"\n[workload]\nnic = \"udp-echo\"\n",
      "n.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->nic_workload.size, 512u);
  EXPECT_EQ(c->nic_workload.window, 32u);
  EXPECT_EQ(c->invariants.lost_datagrams, 0u);
  EXPECT_EQ(c->invariants.duplicated_datagrams, kNoLimit);  // within the promise
}

TEST(CampaignParser, ReadsSideWorkloadsAndTheirRegions) {
  auto c = parse_campaign(
      "[campaign]\nname = \"d\"\nfaults = 2\n[[device]]\nname = \"disk0\"\nsize = "
      "\"48MiB\"\n[[device]]\nname = \"nic0\"\nkind = \"nic\"\n[[fault]]\ntype = "
      "\"sigkill\"\n[workload]\ndisk = \"verified-writer\"\nblocks = 2000\nfio_verify = "
      "true\next4_fsck = true\nnic = \"udp-echo\"\niperf3 = true\n[invariants]\nbroken_streams = "
      "2\n",
      "d.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_TRUE(c->disk_workload.fio_verify);
  EXPECT_TRUE(c->disk_workload.ext4_fsck);
  EXPECT_TRUE(c->nic_workload.iperf3);
  EXPECT_EQ(c->invariants.broken_streams, 2u);
  // 2000 x 4 KiB = 7.8 MiB: fio's region from 8 MiB, ext4's from 16 MiB, 48 MiB in all.
  DiskRegions r = disk_regions(c->disk_workload);
  EXPECT_EQ(r.fio_offset, 8u << 20);
  EXPECT_EQ(r.ext4_offset, 16u << 20);
  EXPECT_EQ(r.end, 48u << 20);
  DiskWorkload only_ext4{"verified-writer", 256, 4096, false, true};
  EXPECT_EQ(disk_regions(only_ext4).ext4_offset, 1u << 20);
  EXPECT_EQ(disk_regions(only_ext4).end, 33u << 20);
  // Off by default; no limit unless set is not the default for streams.
  auto d = parse_campaign(kGood, "g.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->disk_workload.fio_verify || d->disk_workload.ext4_fsck || d->nic_workload.iperf3);
  EXPECT_EQ(d->invariants.broken_streams, 0u);
  EXPECT_EQ(disk_regions(d->disk_workload).end, 1024u * 8192);
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
                "c.toml:8:10: 'weight' = 0 is out of range 1..1000000"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\n[workload]\nnic = \"udp-echo\"\n",
                "c.toml:9:7: a NIC workload needs a [[device]] of kind \"nic\""},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"nic0\"\nkind = "
                "\"nic\"\n[[fault]]\ntype = \"sigkill\"\n[workload]\nnic = \"tcp\"\n",
                "c.toml:10:7: 'nic' = \"tcp\" is not \"udp-echo\""},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"nic0\"\nkind = "
                "\"nic\"\n[[fault]]\ntype = \"sigkill\"\n[workload]\nnic = \"udp-echo\"\n"
                "echo_size = 9000\n",
                "c.toml:11:13: 'echo_size' = 9000 is out of range 64..1472"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"nic0\"\nkind = "
                "\"nic\"\nsize = \"8MiB\"\n[[fault]]\ntype = \"sigkill\"\n",
                "c.toml:7:8: 'size' is for disks"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\n[invariants]\nlost_datagram = 3\n",
                "c.toml:9:1: unknown key 'lost_datagram' in [invariants] (did you mean "
                "'lost_datagrams'?)"},
        // The side workloads: the disk must hold every region; each needs its primary.
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\nsize = "
                "\"40MiB\"\n[[fault]]\ntype = \"sigkill\"\n[workload]\ndisk = "
                "\"verified-writer\"\nfio_verify = true\next4_fsck = true\n",
                "c.toml:12:13: the writer's blocks, fio's 8 MiB and ext4's 32 MiB region need "
                "50331648 bytes, more than disk0's size (41943040)"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\n[workload]\nfio_verify = true\n",
                "c.toml:9:14: 'fio_verify' runs beside the disk's verified writer: it needs disk = "
                "\"verified-writer\""},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\n[workload]\ndisk = \"verified-writer\"\next4_fsck = \"yes\"\n",
                "c.toml:10:13: 'ext4_fsck' must be a boolean (true or false), not a string"},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"nic0\"\nkind = "
                "\"nic\"\n[[fault]]\ntype = \"sigkill\"\n[workload]\niperf3 = true\n",
                "c.toml:10:10: 'iperf3' runs beside the udp-echo: it needs nic = \"udp-echo\""},
        BadCase{"[campaign]\nname = \"x\"\nfaults = 3\n[[device]]\nname = \"disk0\"\n[[fault]]\n"
                "type = \"sigkill\"\n[invariants]\nbroken_streams = -1\n",
                "c.toml:9:18: 'broken_streams' = -1 is out of range 0..4294967295"}));

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

TEST(CampaignParser, SettleModes) {
  auto c = parse_campaign(kGood, "c.toml");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->settle, "progress");  // the default: no effect decided early
  EXPECT_EQ(c->min_settle_ms, 50u);
  // kGood with its settle_ms line (line 7) replaced.
  auto with = [](const std::string& lines) {
    std::string text = kGood;
    size_t at = text.find("settle_ms = 1500\n");
    return text.replace(at, 17, lines);
  };
  auto w = parse_campaign(with("settle_ms = 300\nsettle = \"window\"\nmin_settle_ms = 0\n"), "w");
  ASSERT_TRUE(w.ok()) << w.error().describe();
  EXPECT_EQ(w->settle, "window");
  EXPECT_EQ(w->min_settle_ms, 0u);
  auto bad = parse_campaign(with("settle = \"soon\"\n"), "b.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().describe().rfind("b.toml:7:", 0), 0u) << bad.error().describe();
  auto longer = parse_campaign(with("settle_ms = 300\nmin_settle_ms = 400\n"), "l.toml");
  ASSERT_FALSE(longer.ok());
  EXPECT_NE(longer.error().describe().find("longer than settle_ms"), std::string::npos);
  auto shrunk = parse_campaign(with("settle_ms = 20\n"), "s.toml");
  ASSERT_TRUE(shrunk.ok()) << shrunk.error().describe();
  EXPECT_EQ(shrunk->min_settle_ms, 20u);  // the default shrinks to the bound
}

}  // namespace
}  // namespace uldd::campaign
