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

TEST(Settle, ProgressNeededCoversWhatWasInFlight) {
  // One write in flight at the injection, then kOpsAfterInjection started after it.
  EXPECT_EQ(progress_needed(100, 1), 100u + 1 + kOpsAfterInjection);
  EXPECT_EQ(progress_needed(0, 32), 32u + kOpsAfterInjection);
  EXPECT_GE(kOpsAfterInjection, 1u);
}

ctl::BusEvent recovered_event(uint32_t old_pid, uint32_t new_pid, uint64_t received_us,
                              uint64_t detect_to_serving_us, uint64_t downtime_us) {
  ctl::BusEvent e;
  e.kind = ctl::BusEvent::Kind::kRecovered;
  e.device = "disk0";
  e.mode = "warm";
  e.cause = "crashed";
  e.old_pid = old_pid;
  e.new_pid = new_pid;
  e.received_realtime_us = received_us;
  e.detect_to_serving_us = detect_to_serving_us;
  e.downtime_us = downtime_us;
  return e;
}

TEST(Attribution, DetectedBeforeUsesTheLongerOfTheTwoDurations) {
  // Received at 10.000 s, downtime 30 ms: detected at 9.970 s at the latest.
  ctl::BusEvent e = recovered_event(1, 2, 10'000'000, 20'000, 30'000);
  EXPECT_TRUE(detected_before(e, 9'980'000));   // injected after the detection
  EXPECT_FALSE(detected_before(e, 9'960'000));  // injected before: may be its effect
  EXPECT_FALSE(detected_before(e, 9'970'000));
  ctl::BusEvent odd = recovered_event(1, 2, 1000, 5000, 0);  // no underflow
  EXPECT_FALSE(detected_before(odd, 2000));
}

FaultRecord into(uint32_t index, uint32_t pid, Classification c) {
  FaultRecord r;
  r.fault = ScheduledFault{index, index * 10, "disk0", "swifi-heap", {}, index};
  r.observed.injected = true;
  r.driver_pid = pid;
  r.classification = c;
  r.decided_by = c == Classification::kNoEffect ? DecidedBy::kProgress : DecidedBy::kSignal;
  return r;
}

TEST(Attribution, LateRecoveryOfASilentFaultsDriverIsALatentEffect) {
  std::vector<FaultRecord> faults = {into(0, 100, Classification::kRecoveredWarm),
                                     into(1, 200, Classification::kNoEffect),
                                     into(2, 200, Classification::kNoEffect)};
  faults[0].new_driver_pid = 200;
  faults[0].observed.recovered = true;
  faults[0].observed.recovery_mode = "warm";
  bool extra = true;
  // The newest fault into driver 200 owns its recovery.
  FaultRecord* owner = owner_of_recovery(faults, "disk0", 200, &extra);
  ASSERT_EQ(owner, &faults[2]);
  EXPECT_FALSE(extra);
  ctl::BusEvent e = recovered_event(200, 300, 5'000'000, 10'000, 12'000);
  e.mode = "cold";
  EXPECT_TRUE(apply_late_recovery(*owner, extra, e));
  EXPECT_TRUE(faults[2].latent);
  EXPECT_EQ(faults[2].decided_by, DecidedBy::kLatent);
  EXPECT_EQ(faults[2].classification, Classification::kRecoveredCold);
  EXPECT_EQ(faults[2].new_driver_pid, 300u);
  EXPECT_EQ(*faults[2].downtime_us, 12'000u);
  Totals t = compute_totals(faults, DataCounts{});
  EXPECT_EQ(t.latent, 1u);
  EXPECT_EQ(t.no_effect, 1u);
  EXPECT_EQ(t.decided_by_progress, 1u);  // fault 1 stays a no-effect decided early
  EXPECT_EQ(t.recovered_cold, 1u);
  EXPECT_DOUBLE_EQ(t.recovered_percent, 100.0);
}

TEST(Attribution, CrashLoopOfARestartedDriverIsAnExtraRecovery) {
  std::vector<FaultRecord> faults = {into(0, 100, Classification::kRecoveredWarm)};
  faults[0].observed.recovered = true;
  faults[0].observed.recovery_mode = "warm";
  faults[0].new_driver_pid = 150;
  bool extra = false;
  FaultRecord* owner = owner_of_recovery(faults, "disk0", 150, &extra);
  ASSERT_EQ(owner, &faults[0]);
  EXPECT_TRUE(extra);
  EXPECT_FALSE(apply_late_recovery(*owner, extra, recovered_event(150, 160, 1, 0, 0)));
  EXPECT_EQ(faults[0].extra_recoveries, 1u);
  EXPECT_FALSE(faults[0].latent);
  // Another device's faults, pid 0 and an unknown driver own nothing.
  EXPECT_EQ(owner_of_recovery(faults, "disk1", 100, &extra), nullptr);
  EXPECT_EQ(owner_of_recovery(faults, "disk0", 0, &extra), nullptr);
  EXPECT_EQ(owner_of_recovery(faults, "disk0", 999, &extra), nullptr);
}

TEST(Attribution, WhichRecoveryIsTheWatchedFaults) {
  std::vector<FaultRecord> earlier = {into(0, 100, Classification::kRecoveredWarm)};
  earlier[0].new_driver_pid = 200;
  FaultRecord rec = into(1, 200, Classification::kNotInjected);
  uint64_t injected = 5'000'000;
  // Its driver, detected after the injection: its own.
  EXPECT_TRUE(
      recovery_belongs_to(rec, earlier, recovered_event(200, 300, 5'100'000, 10, 10), injected));
  // Detected before the injection: an earlier fault's.
  EXPECT_FALSE(recovery_belongs_to(rec, earlier, recovered_event(200, 300, 5'100'000, 0, 200'000),
                                   injected));
  // A successor of its driver that died before the recovery settled (201,
  // unknown to every fault): its own too — a restart chain.
  EXPECT_TRUE(
      recovery_belongs_to(rec, earlier, recovered_event(201, 300, 5'100'000, 10, 10), injected));
  // A driver an earlier fault went into: not its own.
  EXPECT_FALSE(
      recovery_belongs_to(rec, earlier, recovered_event(100, 300, 5'100'000, 10, 10), injected));
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
