// classify, compute_totals, evaluate_invariants: the rules of fault_outcome.h.
#include "faultinject/campaign/fault_outcome.h"

#include <gtest/gtest.h>

namespace uldd::campaign {
namespace {

FaultObservation injected() {
  FaultObservation o;
  o.injected = true;
  return o;
}

TEST(Classify, EachOutcome) {
  FaultObservation o = injected();
  EXPECT_EQ(classify(o), Classification::kNoEffect);
  o.recovered = true;
  o.recovery_mode = "warm";
  EXPECT_EQ(classify(o), Classification::kRecoveredWarm);
  o.recovery_mode = "cold";
  EXPECT_EQ(classify(o), Classification::kRecoveredCold);
  o.new_data_problems = 1;
  EXPECT_EQ(classify(o), Classification::kDataCorrupted);
  o.supervisor_died = true;
  EXPECT_EQ(classify(o), Classification::kSupervisorLost);

  FaultObservation failed = injected();
  failed.device_failed = true;
  EXPECT_EQ(classify(failed), Classification::kEscalated);
  FaultObservation hung = injected();
  hung.device_serving_at_end = false;
  EXPECT_EQ(classify(hung), Classification::kEscalated);
  FaultObservation stalled = injected();
  stalled.io_stalled = true;
  EXPECT_EQ(classify(stalled), Classification::kEscalated);
  EXPECT_EQ(classify(FaultObservation{}), Classification::kNotInjected);
}

FaultRecord record(Classification c, std::optional<uint64_t> downtime = std::nullopt) {
  FaultRecord r;
  r.observed.injected = c != Classification::kNotInjected;
  r.classification = c;
  r.downtime_us = downtime;
  return r;
}

TEST(Totals, CountsAndRecoveredPercent) {
  std::vector<FaultRecord> f = {
      record(Classification::kRecoveredWarm, 1000), record(Classification::kRecoveredWarm, 3000),
      record(Classification::kRecoveredCold, 2000), record(Classification::kNoEffect),
      record(Classification::kEscalated),           record(Classification::kNotInjected)};
  DataCounts d;
  d.lost_writes = 2;
  Totals t = compute_totals(f, d);
  EXPECT_EQ(t.planned, 6u);
  EXPECT_EQ(t.injected, 5u);
  EXPECT_EQ(t.recovered_warm, 2u);
  EXPECT_EQ(t.recovered_cold, 1u);
  EXPECT_EQ(t.no_effect, 1u);
  EXPECT_EQ(t.escalated, 1u);
  EXPECT_EQ(t.not_injected, 1u);
  EXPECT_DOUBLE_EQ(t.recovered_percent, 75.0);  // 3 of the 4 with an effect
  EXPECT_EQ(t.downtime_max_us, 3000u);
  EXPECT_EQ(t.downtime_mean_us, 2000u);
  EXPECT_EQ(t.lost_writes, 2u);
}

TEST(Invariants, PassAndFail) {
  Invariants inv;  // 0 lost, 0 corrupted, 0 I/O errors, supervisor survives, 99.9 %
  Totals t;
  auto ok = evaluate_invariants(inv, t, true);
  ASSERT_EQ(ok.size(), 5u);
  for (const InvariantResult& r : ok) EXPECT_TRUE(r.pass) << r.name;

  t.corrupted_blocks = 1;
  t.recovered_percent = 99.0;
  auto bad = evaluate_invariants(inv, t, false);
  std::map<std::string, bool> pass;
  for (const InvariantResult& r : bad) pass[r.name] = r.pass;
  EXPECT_TRUE(pass["lost_writes"]);
  EXPECT_FALSE(pass["corrupted"]);
  EXPECT_FALSE(pass["supervisor_survives"]);
  EXPECT_FALSE(pass["min_recovered_percent"]);
  EXPECT_EQ(bad[1].actual, "1");
  EXPECT_EQ(bad[4].expected, ">= 99.9");

  inv.supervisor_survives = false;  // not asked for: a dead supervisor passes
  EXPECT_TRUE(evaluate_invariants(inv, t, false)[3].pass);
}

}  // namespace
}  // namespace uldd::campaign
