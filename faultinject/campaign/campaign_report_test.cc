// report_to_json / report_table / progress_line with fixed inputs.
#include "faultinject/campaign/campaign_report.h"

#include <gtest/gtest.h>

namespace uldd::campaign {
namespace {

CampaignReport sample() {
  CampaignReport r;
  r.campaign.name = "smoke";
  r.campaign.faults = 2;
  r.campaign.devices.push_back(CampaignDevice{"disk0", "disk", {}, {}, 64u << 20});
  r.seed = 9;
  r.started_at = "2026-01-01T00:00:00Z";
  FaultRecord a;
  a.fault = ScheduledFault{0, 500, "disk0", "sigkill", {}, 0};
  a.injected_at_ms = 501;
  a.reply = "sigkill sent to pid 42";
  a.observed.injected = true;
  a.observed.recovered = true;
  a.observed.recovery_mode = "warm";
  a.classification = Classification::kRecoveredWarm;
  a.downtime_us = 1500;
  a.decided_by = DecidedBy::kSignal;
  a.decided_after_ms = 40;
  a.driver_pid = 42;
  FaultRecord b;
  b.fault = ScheduledFault{1, 900, "disk0", "stall", {{"ms", "5"}}, 1};
  b.error = "org.uldd.Supervisor1.Error.InvalidState: recovering";
  b.classification = Classification::kNotInjected;
  r.faults = {a, b};
  r.workload.name = "verified-writer";
  DataProblem p;
  p.kind = DataProblem::Kind::kCorrupted;
  p.lba = 17;
  p.expected_generation = 300;
  p.first_wrong_offset = 2048;
  p.after_fault = 0;
  r.workload.problems.push_back(p);
  DataCounts d;
  d.corrupted_blocks = 1;
  r.totals = compute_totals(r.faults, d);
  r.invariants = evaluate_invariants(Invariants{}, r.totals, true);
  return r;
}

TEST(CampaignReport, JsonCarriesFaultsTotalsAndVerdict) {
  nlohmann::json j = report_to_json(sample());
  EXPECT_EQ(j["schema"], kReportSchemaId);
  EXPECT_EQ(j["campaign"]["seed"], 9);
  ASSERT_EQ(j["faults"].size(), 2u);
  EXPECT_EQ(j["faults"][0]["classification"], "recovered-warm");
  EXPECT_EQ(j["faults"][0]["reply"], "sigkill sent to pid 42");
  EXPECT_EQ(j["faults"][0]["downtime_us"], 1500);
  EXPECT_TRUE(j["faults"][1]["reply"].is_null());
  EXPECT_EQ(j["faults"][0]["decided_by"], "signal");
  EXPECT_EQ(j["faults"][0]["decided_after_ms"], 40);
  EXPECT_EQ(j["faults"][0]["driver_pid"], 42);
  EXPECT_EQ(j["faults"][1]["decided_by"], "none");
  EXPECT_TRUE(j["faults"][1]["driver_pid"].is_null());
  EXPECT_EQ(j["campaign"]["settle"], "progress");
  EXPECT_EQ(j["totals"]["latent"], 0);
  EXPECT_EQ(j["faults"][1]["params"]["ms"], "5");
  EXPECT_EQ(j["workload"]["data_problems"][0]["first_wrong_offset"], 2048);
  EXPECT_EQ(j["workload"]["data_problems"][0]["request_index"], 300);
  EXPECT_EQ(j["totals"]["corrupted_blocks"], 1);
  EXPECT_EQ(j["result"], "fail");  // corrupted 1 > 0
  bool corrupted_failed = false;
  for (const auto& i : j["invariants"])
    if (i["name"] == "corrupted") corrupted_failed = !i["pass"].get<bool>();
  EXPECT_TRUE(corrupted_failed);
}

TEST(CampaignReport, TableAndProgress) {
  CampaignReport r = sample();
  std::string t = report_table(r);
  EXPECT_NE(t.find("recovered-warm"), std::string::npos);
  EXPECT_NE(t.find("CORRUPTED block 17 (request 300): first wrong byte at offset 2048"),
            std::string::npos);
  EXPECT_NE(t.find("invariant corrupted"), std::string::npos);
  EXPECT_NE(t.find("result: FAIL"), std::string::npos);
  // How each outcome was decided, and after how long.
  EXPECT_NE(t.find("recovered-warm   signal         40"), std::string::npos) << t;
  EXPECT_NE(t.find("latent effects 0"), std::string::npos);
  Totals tot;
  tot.recovered_warm = 20;
  tot.recovered_cold = 5;
  tot.no_effect = 12;
  tot.latent = 2;
  EXPECT_EQ(progress_line(37, 200, tot),
            "[ 37/200] warm=20 cold=5 none=12 failed=0 lost=0 corrupt=0 latent=2");
}

}  // namespace
}  // namespace uldd::campaign
