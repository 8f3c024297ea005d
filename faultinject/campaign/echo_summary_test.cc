// The udp-echo's part of the report: report_to_json writes nic_workloads
// with every count and problem, and the table shows the echo line and the
// corrupted datagrams with their byte.
#include "faultinject/campaign/echo_summary.h"

#include <gtest/gtest.h>

#include "faultinject/campaign/campaign_report.h"

namespace uldd::campaign {
namespace {

TEST(EchoSummaryReport, JsonAndTable) {
  CampaignReport r;
  r.campaign.name = "nic";
  r.campaign.devices.push_back(CampaignDevice{"nic0", "nic", {}, {}, 0});
  EchoSummary e;
  e.device = "nic0";
  e.name = "udp-echo";
  e.from = "198.18.0.1";
  e.to = "198.18.0.2:7007";
  e.counts = EchoCounts{100, 95, 2, 1, 2, 3, 1};
  e.rtt_p50_us = 300;
  e.rtt_p99_us = 9000;
  e.rtt_max_us = 20000;
  e.max_stall_us = 250'000;
  e.stalls.push_back(EchoTracker::Stall{1200, 250'000});
  e.problems.push_back(EchoProblem{EchoProblem::Kind::kCorrupted, 42, 511, 3, 1300});
  e.problems.push_back(EchoProblem{EchoProblem::Kind::kLost, 43, -1, -1, 2300});
  e.echoes_per_100ms = {10, 0, 12};
  r.nic_workloads.push_back(e);
  r.invariants.push_back(InvariantResult{"nic0.lost_datagrams", "<= 5", "2", true});

  nlohmann::json j = report_to_json(r);
  ASSERT_EQ(j["nic_workloads"].size(), 1u);
  const nlohmann::json& n = j["nic_workloads"][0];
  EXPECT_EQ(n["device"], "nic0");
  EXPECT_EQ(n["nic"], "udp-echo");
  EXPECT_EQ(n["sent"], 100);
  EXPECT_EQ(n["verified"], 95);
  EXPECT_EQ(n["lost"], 2);
  EXPECT_EQ(n["late"], 1);
  EXPECT_EQ(n["corrupted"], 2);
  EXPECT_EQ(n["duplicated"], 3);
  EXPECT_EQ(n["reordered"], 1);
  EXPECT_EQ(n["max_stall_us"], 250000);
  EXPECT_EQ(n["stalls"][0]["at_ms"], 1200);
  EXPECT_EQ(n["problems"][0]["kind"], "corrupted");
  EXPECT_EQ(n["problems"][0]["first_wrong_offset"], 511);
  EXPECT_EQ(n["problems"][0]["after_fault"], 3);
  EXPECT_TRUE(n["problems"][1]["first_wrong_offset"].is_null());
  EXPECT_TRUE(n["problems"][1]["after_fault"].is_null());
  EXPECT_EQ(n["echoes_per_100ms"].size(), 3u);

  std::string table = report_table(r);
  EXPECT_NE(table.find("nic0 udp-echo: 100 sent, 95 echoed intact; lost 2, late 1, corrupted 2, "
                       "duplicated 3, reordered 1"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("corrupted  datagram 42 at 1300 ms: first wrong byte at offset 511"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("datagram 43"), std::string::npos);  // losses are counted, not listed
}

}  // namespace
}  // namespace uldd::campaign
