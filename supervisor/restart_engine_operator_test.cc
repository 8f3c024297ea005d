// RestartEngine, the operator's actions against real processes (the fake
// host of restart_engine_test_support.h, uldd-hostile-driver "pretend"):
//  - restart replaces a serving driver without asking the policy: a policy
//    with no restarts left (restart = never) still lets the operator restart;
//    the recovery listener hears cause "operator";
//  - stop holds requests and leaves no driver; a death meanwhile is nothing
//    to recover; start brings a successor; stop/start in the wrong state are
//    refused with EBUSY and a reason;
//  - signal_driver delivers a fault through the pidfd (SIGSEGV: a crash the
//    policy restarts).
#include <gtest/gtest.h>

#include "supervisor/restart_engine_test_support.h"

namespace uldd::supervisor {
namespace {

TEST(RestartEngineOperatorTest, RestartIsNotAFailureEvenUnderRestartNever) {
  FakeHost host(test_role("op-restart"), {"pretend"}, false);
  policies::RestartPolicy p = quick_policy();
  p.restart = policies::RestartMode::kNever;  // any failure would exhaust it
  RestartEngine engine(host, p, 1);
  std::vector<RecoveryRecord> heard;
  engine.set_recovery_listener([&](const RecoveryRecord& r) { heard.push_back(r); });
  ASSERT_TRUE(engine.start().ok());
  pid_t first = engine.driver_pid();
  ASSERT_TRUE(engine.operator_restart().ok());
  EXPECT_FALSE(engine.operator_restart().ok()) << "a second restart while one is under way";
  bool back = run_loop(engine, [&] {
    return engine.state() == EngineState::kServing && engine.driver_pid() != first;
  });
  ASSERT_TRUE(back) << "state " << to_string(engine.state());
  EXPECT_NE(engine.driver_pid(), first);
  EXPECT_EQ(engine.faults_by_cause().at("operator"), 1u);
  EXPECT_EQ(engine.restart_counters().failures, 0u) << "the policy was asked";
  EXPECT_EQ(engine.counters().last_fault, "restarted by the operator");
  EXPECT_GT(engine.last_fault_realtime_us(), 0u);
  engine.stop();
  // The fake host never completes anything and has work pending: the
  // recovery is not settled, so nothing was reported yet.
  EXPECT_TRUE(heard.empty());
}

TEST(RestartEngineOperatorTest, AnIdleDevicesRecoverySettlesWhenTheSuccessorServes) {
  FakeHost host(test_role("op-idle"), {"pretend"}, false);
  host.pending = false;
  RestartEngine engine(host, quick_policy(), 1);
  std::vector<RecoveryRecord> heard;
  engine.set_recovery_listener([&](const RecoveryRecord& r) { heard.push_back(r); });
  ASSERT_TRUE(engine.start().ok());
  pid_t first = engine.driver_pid();
  ASSERT_TRUE(engine.operator_restart().ok());
  ASSERT_TRUE(run_loop(engine, [&] { return !heard.empty(); })) << "no recovery reported";
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].cause, "operator");
  EXPECT_EQ(heard[0].old_pid, first);
  EXPECT_EQ(heard[0].new_pid, engine.driver_pid());
  EXPECT_EQ(heard[0].downtime, heard[0].detect_to_serving);
  EXPECT_EQ(engine.counters().last_downtime, heard[0].downtime);
  engine.stop();
}

TEST(RestartEngineOperatorTest, StopHoldsUntilStartAndRefusesWrongStates) {
  FakeHost host(test_role("op-stop"), {"pretend"}, false);
  RestartEngine engine(host, quick_policy(), 1);
  ASSERT_TRUE(engine.start().ok());
  EXPECT_EQ(engine.operator_start().error().code, EBUSY) << "start of a serving driver";
  pid_t first = engine.driver_pid();
  int holds_before = host.holds;
  ASSERT_TRUE(engine.operator_stop().ok());
  EXPECT_EQ(engine.state(), EngineState::kHeld);
  EXPECT_EQ(to_string(engine.state()), "stopped");
  EXPECT_GT(host.holds, holds_before);
  // The stop does not wait in place (the loop must go on): the driver is
  // killed and reaped when its pidfd reports.
  ASSERT_TRUE(run_loop(engine, [&] { return engine.driver_pid() == -1; }))
      << "the driver was not reaped";
  EXPECT_NE(::kill(first, 0), 0) << "the stopped driver still exists";
  EXPECT_EQ(engine.operator_stop().error().code, EBUSY);
  EXPECT_EQ(engine.operator_restart().error().code, EBUSY);
  // Nothing restarts it by itself.
  run_loop(
      engine, [] { return false; }, 300ms);
  EXPECT_EQ(engine.state(), EngineState::kHeld);
  size_t spawns = host.spawns;
  ASSERT_TRUE(engine.operator_start().ok());
  ASSERT_TRUE(run_loop(engine, [&] { return engine.state() == EngineState::kServing; }));
  EXPECT_EQ(host.spawns, spawns + 1);
  EXPECT_GT(engine.driver_pid(), 0);
  EXPECT_EQ(engine.restart_counters().failures, 0u);
  engine.stop();
}

TEST(RestartEngineOperatorTest, SignalDriverInjectsACrashThePolicyRestarts) {
  FakeHost host(test_role("op-signal"), {"pretend"}, false);
  RestartEngine engine(host, quick_policy(), 1);
  ASSERT_TRUE(engine.start().ok());
  pid_t first = engine.driver_pid();
  ASSERT_TRUE(engine.signal_driver(SIGSEGV).ok());
  ASSERT_TRUE(run_loop(engine, [&] {
    return engine.state() == EngineState::kServing && engine.driver_pid() != first;
  }));
  EXPECT_EQ(engine.restart_counters().failures, 1u);
  EXPECT_EQ(engine.faults_by_cause().at("crashed"), 1u);
  EXPECT_NE(engine.counters().last_fault.find("SEGV"), std::string::npos)
      << engine.counters().last_fault;
  engine.stop();
  EXPECT_EQ(engine.signal_driver(SIGKILL).error().code, EBUSY);
}

}  // namespace
}  // namespace uldd::supervisor
