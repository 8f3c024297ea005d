// RestartEngine against real processes: a fake DriverHost (a control block
// memfd, no shim) whose "drivers" are uldd-hostile-driver in its driver-like
// modes (pretend: report kRunning and beat; refuse-warm: exit 6 when launched
// warm; socket: die by seccomp at start-up; idle: never report). Checked:
//  - the policy's [limits] are what a spawned driver really has
//    (/proc/<pid>/limits, its cgroup's cpu.max), and a reloaded policy's
//    limits are what the next one has;
//  - a restart does not wait for the successor: the engine returns in
//    kStarting and the loop (poll + tick) sees it come up;
//  - a successor that dies at start-up or never reports running is a start
//    failure, restarted with backoff until the intensity is spent, then the
//    exhausted action runs;
//  - a warm refusal (exit 6) falls back to cold in the same outage.
#include "supervisor/restart_engine.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "abi/driver_fds.h"
#include "common/shared_memory.h"
#include "supervisor/driver_sandbox.h"
#include "supervisor/restart_engine_test_support.h"

namespace uldd::supervisor {
namespace {

using namespace std::chrono_literals;
using policies::FailureCause;

// One line of /proc/<pid>/limits, e.g. "Max open files  40  40  files".
std::string limit_line(pid_t pid, const std::string& name) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/limits"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name, 0) == 0) return line;
  return "";
}

std::string limit_pair(uint64_t v) {
  std::string s = std::to_string(v);
  return s + std::string(21 - s.size(), ' ') + s;  // soft and hard, as the kernel aligns them
}

TEST(SandboxForTest, CarriesEveryPolicyLimit) {
  policies::ResourceLimits l{
      .memory_bytes = 64u << 20, .cpu_percent = 25, .open_files = 33, .core_dumps = true};
  SandboxSpec s = sandbox_for(l);
  EXPECT_EQ(s.limits.memory_bytes, 64u << 20);
  EXPECT_EQ(s.limits.cpu_percent, 25u);
  EXPECT_EQ(s.limits.open_files, 33u);
  EXPECT_TRUE(s.limits.core_dumps);
  EXPECT_EQ(s.cgroup_root, SandboxSpec{}.cgroup_root);
}

TEST(RestartEngineTest, PolicyLimitsReachTheDriverAndAReloadTheNext) {
  if (!root()) GTEST_SKIP() << "needs root (drivers switch to user nobody)";
  FakeHost host(test_role("engine-limits"), {"pretend"}, true);
  policies::RestartPolicy p = quick_policy();
  p.limits = {
      .memory_bytes = uint64_t{1} << 30, .cpu_percent = 30, .open_files = 40, .core_dumps = false};
  RestartEngine engine(host, p, 1);
  ASSERT_TRUE(engine.start().ok());
  pid_t pid = engine.driver_pid();
  EXPECT_NE(limit_line(pid, "Max open files").find(limit_pair(40)), std::string::npos)
      << limit_line(pid, "Max open files");
  EXPECT_NE(limit_line(pid, "Max core file size").find(limit_pair(0)), std::string::npos);
  if (!kAsan) {
    EXPECT_NE(limit_line(pid, "Max address space").find(limit_pair(uint64_t{1} << 30)),
              std::string::npos)
        << limit_line(pid, "Max address space");
  }
  auto cpu_max = [&](pid_t of) -> std::string {
    std::string cg = slurp("/proc/" + std::to_string(of) + "/cgroup");  // "0::/uldd.slice/<leaf>\n"
    if (cg.rfind("0::/", 0) != 0) return "";
    std::filesystem::path file =
        std::filesystem::path("/sys/fs/cgroup") / cg.substr(4, cg.find('\n') - 4) / "cpu.max";
    return std::filesystem::exists(file) ? slurp(file) : "";
  };
  bool cpu_controller = DriverCgroup::is_cgroup2("/sys/fs/cgroup") && !cpu_max(pid).empty();
  if (cpu_controller) {
    EXPECT_EQ(cpu_max(pid), "30000 100000\n");
  } else {
    std::printf("NOTE no cgroup v2 cpu controller here: cpu.max not checked\n");
  }

  // SIGHUP's effect: the engine gets the new policy; the next spawn has it.
  p.limits = {.memory_bytes = 0, .cpu_percent = 70, .open_files = 48, .core_dumps = false};
  engine.set_policy(p);
  kill_and_notice(engine);
  ASSERT_TRUE(run_loop(engine, [&] { return engine.state() == EngineState::kServing; }));
  pid_t next = engine.driver_pid();
  ASSERT_NE(next, pid);
  EXPECT_NE(limit_line(next, "Max open files").find(limit_pair(40 + 8)), std::string::npos)
      << limit_line(next, "Max open files");
  EXPECT_NE(limit_line(next, "Max address space").find("unlimited"), std::string::npos)
      << limit_line(next, "Max address space");
  if (cpu_controller) {
    EXPECT_EQ(cpu_max(next), "70000 100000\n");
  }
  engine.stop();
  ::rmdir("/sys/fs/cgroup/uldd.slice");  // leave the host as found (fails harmlessly if in use)
}

TEST(RestartEngineTest, RestartDoesNotWaitForTheSuccessor) {
  FakeHost host(test_role("engine-async"), {"pretend"}, false);
  RestartEngine engine(host, quick_policy(), 2);
  ASSERT_TRUE(engine.start().ok());
  host.delay_ms = 1500;  // the successor reports running only after 1.5 s
  kill_and_notice(engine);
  // The death was handled and the successor spawned, yet the call returned
  // long before it could report: the loop was never blocked on it.
  EXPECT_EQ(engine.state(), EngineState::kStarting);
  EXPECT_EQ(host.spawns, 2u);
  EXPECT_NE(abi::load_shared(host.control_block()->status.state),
            static_cast<uint32_t>(abi::DriverState::kRunning));
  ASSERT_TRUE(run_loop(engine, [&] { return engine.state() == EngineState::kServing; }));
  EXPECT_EQ(engine.counters().restarts_warm, 1u);
  EXPECT_EQ(engine.counters().start_failures, 0u);
  EXPECT_EQ(engine.counters().crashes, 1u);
  engine.stop();
}

TEST(RestartEngineTest, StartupDeathsAreRestartedWithBackoffThenExhausted) {
  if (!root())
    GTEST_SKIP() << "needs root (the seccomp kill needs the sandbox, which needs nobody)";
  // The first driver serves; every successor dies by seccomp at start-up.
  FakeHost host(test_role("engine-startdeath"), {"pretend", "socket"}, true);
  policies::RestartPolicy p = quick_policy();
  p.intensity = 3;
  p.backoff_initial = 5ms;
  p.backoff_multiplier = 2.0;
  p.backoff_max = 1s;
  RestartEngine engine(host, p, 3);
  ASSERT_TRUE(engine.start().ok());
  kill_and_notice(engine);
  ASSERT_TRUE(run_loop(engine, [&] { return engine.state() == EngineState::kFailed; }))
      << "never exhausted; state " << static_cast<int>(engine.state());
  const RecoveryCounters& c = engine.counters();
  const policies::RestartCounters& rc = engine.restart_counters();
  EXPECT_EQ(c.crashes, 1u);         // the SIGKILL of the serving driver
  EXPECT_EQ(c.start_failures, 3u);  // each of the 3 restarts the policy granted
  EXPECT_EQ(rc.restarts, 3u);
  EXPECT_EQ(rc.by_cause[static_cast<size_t>(FailureCause::kStartFailed)], 3u);
  EXPECT_TRUE(rc.exhausted);
  EXPECT_EQ(rc.last_delay, 10ms);  // 3rd of the burst: initial * multiplier, no jitter
  EXPECT_EQ(host.spawns, 4u);
  // Held at the crash and again after each successor that never served.
  EXPECT_EQ(host.holds, 4);
  EXPECT_NE(c.last_fault.find("killed by seccomp (SIGSYS) during start-up"), std::string::npos)
      << c.last_fault;
  EXPECT_NE(host.failed_reason.find("seccomp"), std::string::npos) << host.failed_reason;
  engine.stop();
  ::rmdir("/sys/fs/cgroup/uldd.slice");
}

TEST(RestartEngineTest, SilentSuccessorTimesOutAndIsRestarted) {
  // Second driver never reports running; the third does.
  FakeHost host(test_role("engine-silent"), {"pretend", "idle", "pretend"}, false);
  RestartEngine engine(host, quick_policy(), 4);
  engine.set_start_timeout(300ms);
  ASSERT_TRUE(engine.start().ok());
  kill_and_notice(engine);
  ASSERT_TRUE(run_loop(engine, [&] { return engine.state() == EngineState::kServing; }));
  EXPECT_EQ(engine.counters().start_failures, 1u);
  EXPECT_NE(engine.counters().last_fault.find("did not report running within 300 ms"),
            std::string::npos)
      << engine.counters().last_fault;
  EXPECT_EQ(host.spawns, 3u);
  EXPECT_EQ(host.holds, 2);  // at the kill, and after the silent successor
  EXPECT_EQ(engine.restart_counters().by_cause[static_cast<size_t>(FailureCause::kStartFailed)],
            1u);
  engine.stop();
}

TEST(RestartEngineTest, WarmRefusalFallsBackColdInTheSameOutage) {
  FakeHost host(test_role("engine-refuse"), {"pretend", "refuse-warm"}, false);
  RestartEngine engine(host, quick_policy(), 5);
  ASSERT_TRUE(engine.start().ok());
  kill_and_notice(engine);
  ASSERT_TRUE(run_loop(engine, [&] { return engine.state() == EngineState::kServing; }));
  const RecoveryCounters& c = engine.counters();
  EXPECT_EQ(c.warm_refused, 1u);
  EXPECT_EQ(c.restarts_cold, 1u);
  EXPECT_EQ(c.restarts_warm, 0u);
  EXPECT_EQ(c.start_failures, 0u);  // a refusal is not a new failure
  EXPECT_EQ(engine.restart_counters().failures, 1u);
  ASSERT_EQ(host.resends.size(), 2u);
  EXPECT_EQ(host.resends[0], DriverHost::Resend::kAdopt);
  EXPECT_EQ(host.resends[1], DriverHost::Resend::kReissue);
  engine.stop();
}

// The shim's request-timeout watch: the driver beats but keeps a request.
// Killed as hung, and the successor resets the device (cold) although the
// policy says warm; the restart after that is warm again.
TEST(RestartEngineTest, StuckRequestIsAHangAndTheRestartIsColdOnce) {
  FakeHost host(test_role("engine-stuck"), {"pretend"}, false);
  RestartEngine engine(host, quick_policy(), 6);
  ASSERT_TRUE(engine.start().ok());
  pid_t first = engine.driver_pid();
  engine.report_stuck_request("request tag=0x1 not completed");
  ASSERT_TRUE(run_loop(engine, [&] {
    return engine.state() == EngineState::kServing && engine.driver_pid() != first;
  }));
  EXPECT_EQ(engine.counters().hangs, 1u);
  EXPECT_EQ(engine.faults_by_cause().at("hung"), 1u);
  EXPECT_NE(engine.counters().last_fault.find("request timeout"), std::string::npos)
      << engine.counters().last_fault;
  EXPECT_EQ(engine.counters().restarts_cold, 1u);
  ASSERT_EQ(host.resends.size(), 1u);
  EXPECT_EQ(host.resends[0], DriverHost::Resend::kReissue);
  kill_and_notice(engine);
  ASSERT_TRUE(run_loop(engine, [&] { return engine.state() == EngineState::kServing; }));
  ASSERT_EQ(host.resends.size(), 2u);
  EXPECT_EQ(host.resends[1], DriverHost::Resend::kAdopt) << "only the stuck outage is cold";
  engine.stop();
}

}  // namespace
}  // namespace uldd::supervisor
