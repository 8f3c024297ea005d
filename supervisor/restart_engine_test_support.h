// What the RestartEngine tests share: a fake DriverHost (a control block
// memfd, no shim) whose "drivers" are uldd-hostile-driver in its driver-like
// modes, the supervisor's loop in small, a quick policy and small helpers.
// Test-only; included by restart_engine_test.cc and
// restart_engine_operator_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "abi/driver_fds.h"
#include "common/shared_memory.h"
#include "supervisor/restart_engine.h"

namespace uldd::supervisor {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kBin = ULDD_BIN_DIR;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;  // RLIMIT_AS is not applied (shadow memory)
#else
constexpr bool kAsan = false;
#endif

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FakeHost final : public DriverHost {
 public:
  FakeHost(std::string name, std::vector<std::string> attempts, bool sandboxed)
      : name_(std::move(name)), attempts_(std::move(attempts)), sandboxed_(sandboxed) {
    auto cb = SharedMemory::create(name_ + "-control", sizeof(abi::ControlBlock));
    EXPECT_TRUE(cb.ok());
    if (cb.ok()) control_ = std::move(cb.value());
  }

  const std::string& device_name() const override { return name_; }
  SpawnSpec driver_spawn_spec(bool, int) override {
    const std::string& attempt = attempts_[std::min(spawns, attempts_.size() - 1)];
    ++spawns;
    SpawnSpec spec;
    spec.executable = kBin / "uldd-hostile-driver";
    spec.args = {"--attempt=" + attempt, "--delay-ms=" + std::to_string(delay_ms)};
    spec.fds = {{abi::kFdControlBlock, control_.fd()}};
    spec.role = name_ + " driver";
    if (sandboxed_) {
      spec.user = "nobody";
      // Default limits on purpose: the engine must put the policy's in.
      spec.sandbox = SandboxSpec{};
    }
    return spec;
  }
  abi::ControlBlock* control_block() override { return control_.as<abi::ControlBlock>(); }
  void hold_requests() override { ++holds; }
  Result<uint32_t> prepare_successor(Resend how) override {
    resends.push_back(how);
    return uint32_t{0};
  }
  int64_t first_completion_ns() const override { return 0; }
  bool work_pending() const override { return pending; }
  void fail_device(const std::string& reason) override { failed_reason = reason; }

  size_t spawns = 0;
  bool pending = true;  // false: an idle shim (a recovery settles when the successor serves)
  int holds = 0;
  int delay_ms = 0;  // pretend: before reporting kRunning
  std::vector<Resend> resends;
  std::string failed_reason;

 private:
  std::string name_;
  std::vector<std::string> attempts_;
  bool sandboxed_;
  SharedMemory control_;
};

// The supervisor's loop in small: wait for the engine's fds or deadline,
// dispatch, tick; until `done` or `limit` passes.
inline bool run_loop(RestartEngine& engine, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = 20s) {
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::vector<pollfd> fds;
    for (int fd : engine.watched_fds()) fds.push_back({fd, POLLIN, 0});
    auto wait = std::chrono::ceil<std::chrono::microseconds>(engine.next_deadline() -
                                                             std::chrono::steady_clock::now());
    int64_t us = std::clamp<int64_t>(wait.count(), 0, 100'000);
    timespec ts{0, static_cast<long>(us * 1000)};
    ::ppoll(fds.data(), fds.size(), &ts, nullptr);
    for (const pollfd& p : fds)
      if (p.revents & (POLLIN | POLLHUP)) engine.on_fd_ready(p.fd);
    engine.tick();
  }
  return true;
}

inline policies::RestartPolicy quick_policy() {
  policies::RestartPolicy p;
  p.name = "engine-test";
  p.intensity = 100;
  p.backoff_initial = 1ms;
  p.backoff_max = 20ms;
  p.jitter = 0;
  p.heartbeat_interval = 50ms;
  p.heartbeat_timeout = 2s;  // pretend beats every 10 ms; a loaded ASan run must not look hung
  return p;
}

// Kills the serving driver and lets the engine see the death (not yet the
// successor: on_fd_ready returns as soon as the restart is under way).
inline void kill_and_notice(RestartEngine& engine) {
  pid_t pid = engine.driver_pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  bool noticed = run_loop(engine, [&] { return engine.state() != EngineState::kServing; });
  ASSERT_TRUE(noticed) << "death of pid " << pid << " not noticed";
}

inline std::string test_role(const char* what) {
  return std::string(what) + "-" + std::to_string(::getpid());
}

inline bool root() {
  return ::geteuid() == 0;
}

}  // namespace
}  // namespace uldd::supervisor
