#include "supervisor/restart_engine.h"

#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <cstring>
#include <thread>
#include <utility>

#include "supervisor/logging/log_fields.h"
#include "supervisor/restart_engine_detail.h"

namespace uldd::supervisor {
namespace {

using policies::FailureCause;
using Clock = std::chrono::steady_clock;
using namespace restart_engine_detail;

constexpr auto kStandbyRetry = std::chrono::seconds(1);

const char* action_name(policies::ExhaustedAction a) {
  switch (a) {
    case policies::ExhaustedAction::kFailDevice:
      return "fail-device";
    case policies::ExhaustedAction::kStopSupervisor:
      return "stop-supervisor";
    case policies::ExhaustedAction::kRunHook:
      return "run-hook";
  }
  return "?";
}

}  // namespace

RestartEngine::RestartEngine(DriverHost& host, policies::RestartPolicy policy, uint64_t seed)
    : host_(host), tracker_(std::move(policy), seed) {}

RestartEngine::~RestartEngine() {
  stop();
}

void RestartEngine::reset_status_line() {
  // The dead driver's line; the supervisor owns the memfd and nobody writes
  // it until the successor starts. The heartbeat counter is kept: the next
  // driver continues it, so "unchanged" keeps meaning "silent".
  abi::DriverStatus& st = host_.control_block()->status;
  abi::store_shared(st.pid, int32_t{0});
  std::memset(st.last_error, 0, sizeof st.last_error);
  abi::store_shared(st.state, static_cast<uint32_t>(abi::DriverState::kSpawned));
}

Status RestartEngine::wait_running(std::chrono::milliseconds timeout) {
  const abi::DriverStatus& st = host_.control_block()->status;
  auto deadline = Clock::now() + timeout;
  std::chrono::microseconds pause = kFirstPollPause;
  while (Clock::now() < deadline) {
    auto state = static_cast<abi::DriverState>(abi::load_shared(st.state));
    if (state == abi::DriverState::kRunning) return {};
    if (auto status = driver_.try_reap()) {
      std::string why = bounded_string(st.last_error, sizeof st.last_error);  // untrusted: bounded
      return plain_error(host_.device_name() + ": driver " +
                         ChildProcess::describe_status(*status) + " during start-up" +
                         (why.empty() ? "" : ": " + why));
    }
    std::this_thread::sleep_for(pause);
    if (pause < kMaxPollPause) pause *= 2;
  }
  driver_.kill_now(SIGKILL);
  driver_.terminate(std::chrono::milliseconds(100));
  return plain_error(host_.device_name() + ": driver did not report running within " +
                     std::to_string(timeout.count()) + " ms");
}

void RestartEngine::note_running(Clock::time_point now) {
  tracker_.on_driver_up(now);
  last_heartbeat_ = abi::load_shared(host_.control_block()->status.heartbeat);
  last_beat_change_ = now;
  kill_cause_.reset();
  state_ = EngineState::kServing;
}

Status RestartEngine::start() {
  auto wake = EventFd::create();
  if (!wake) return wake.error();
  fault_wake_ = std::move(wake.value());
  reset_status_line();
  abi::DriverLaunch& launch = host_.control_block()->launch;
  launch = abi::DriverLaunch{};
  ULDD_TRY(spawn_driver(false, &driver_, nullptr));
  // The first driver is waited for: the device is not up before it serves,
  // and nothing else is being served by this loop yet.
  ULDD_TRY(wait_running(start_timeout_));
  note_running(Clock::now());
  if (policy().hot_standby) start_standby();
  return {};
}

std::vector<int> RestartEngine::watched_fds() const {
  std::vector<int> fds;
  if (fault_wake_.valid()) fds.push_back(fault_wake_.fd());
  if (driver_.running()) fds.push_back(driver_.pidfd());
  if (standby_.running()) fds.push_back(standby_.pidfd());
  return fds;
}

void RestartEngine::report_fault(const std::string& reason) {
  {
    std::lock_guard lock(fault_mutex_);
    if (fault_reason_.empty()) fault_reason_ = reason;
  }
  if (fault_wake_.valid()) fault_wake_.signal();
}

void RestartEngine::report_stuck_request(const std::string& reason) {
  {
    std::lock_guard lock(fault_mutex_);
    if (fault_reason_.empty()) {
      fault_reason_ = reason;
      fault_is_stuck_ = true;
    }
  }
  if (fault_wake_.valid()) fault_wake_.signal();
}

void RestartEngine::on_fd_ready(int fd) {
  logging::ScopedLogFields log_fields{
      {"DEVICE", host_.device_name()},
      {"DRIVER_PID", std::to_string(std::max(driver_.pid(), pid_t{0}))}};
  if (fault_wake_.valid() && fd == fault_wake_.fd()) {
    fault_wake_.drain();
    std::string reason;
    bool stuck = false;
    {
      std::lock_guard lock(fault_mutex_);
      reason.swap(fault_reason_);
      stuck = std::exchange(fault_is_stuck_, false);
    }
    bool live = state_ == EngineState::kServing || state_ == EngineState::kStarting;
    if (!reason.empty() && live && driver_.running() && !kill_cause_) {
      kill_cause_ = stuck ? FailureCause::kHung : FailureCause::kProtocolViolation;
      kill_reason_ = (stuck ? "request timeout: " : "protocol violation: ") + reason;
      cold_next_ = cold_next_ || stuck;
      driver_.kill_now(SIGKILL);  // its pidfd reports the death
    }
    return;
  }
  if (driver_.running() && fd == driver_.pidfd()) {
    if (state_ == EngineState::kHeld) {  // operator_stop() killed it: nothing to recover
      driver_.try_reap();
      return;
    }
    if (state_ == EngineState::kStarting) {
      poll_start(Clock::now());
      return;
    }
    if (auto status = driver_.try_reap()) on_driver_gone(*status);
    return;
  }
  if (standby_.running() && fd == standby_.pidfd()) {
    if (auto status = standby_.try_reap())
      spdlog::warn("{}: hot standby (pid {}) {}; a new one is started within {} s",
                   host_.device_name(), standby_.pid(), ChildProcess::describe_status(*status),
                   kStandbyRetry.count());
  }
}

void RestartEngine::on_driver_gone(int status) {
  logging::ScopedLogFields log_fields{
      {"DEVICE", host_.device_name()},
      {"DRIVER_PID", std::to_string(std::max(driver_.pid(), pid_t{0}))}};
  auto now = Clock::now();
  if (state_ == EngineState::kStopped || state_ == EngineState::kHeld) return;
  host_.hold_requests();
  died_at_ = now;
  note_fault_time();
  if (operator_restart_pending_) {
    // The operator's restart (restart_engine_operator.cc): not a failure, so
    // the policy is not asked and its intensity budget is not spent.
    operator_restart_pending_ = false;
    ++operator_restarts_;
    counters_.last_fault = "restarted by the operator";
    outage_ = Outage{};
    outage_.old_pid = driver_.pid();
    outage_.cause = "operator";
    spdlog::info("{}: driver (pid {}) stopped for the operator's restart; holding requests",
                 host_.device_name(), driver_.pid());
    state_ = EngineState::kWaiting;
    restart_at_ = now;
    restart_now();
    return;
  }
  FailureCause cause = WIFSIGNALED(status) ? FailureCause::kCrashed : FailureCause::kExited;
  std::string what = ChildProcess::describe_status(status);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
    what += " (seccomp: forbidden system call)";
  if (kill_cause_) {
    cause = *kill_cause_;
    what = kill_reason_ + "; killed";
  }
  switch (cause) {
    case FailureCause::kHung:
      ++counters_.hangs;
      break;
    case FailureCause::kProtocolViolation:
      ++counters_.violations;
      break;
    case FailureCause::kCrashed:
      ++counters_.crashes;
      break;
    default:
      ++counters_.exits;
      break;
  }
  counters_.last_fault = what;
  outage_ = Outage{};
  outage_.old_pid = driver_.pid();
  outage_.cause = std::string(policies::to_string(cause));
  spdlog::error("{}: driver (pid {}) {} [{}]; holding requests", host_.device_name(), driver_.pid(),
                what, policies::to_string(cause));
  schedule_or_give_up(cause, WIFEXITED(status) && WEXITSTATUS(status) == 0, what);
}

void RestartEngine::schedule_or_give_up(FailureCause cause, bool clean_exit,
                                        const std::string& what) {
  auto now = Clock::now();
  policies::Decision d = tracker_.on_failure(now, cause, clean_exit);
  if (!d.restart()) {
    exhausted(d.reason + " (last: " + what + ")", cause);
    return;
  }
  state_ = EngineState::kWaiting;
  restart_at_ = now + d.delay;
  const auto& c = tracker_.counters();
  spdlog::info("{}: restart #{} in {:.3f} ms ({} in a row, {} within {} ms)", host_.device_name(),
               c.restarts, d.delay.count() / 1000.0, c.consecutive, c.restarts_in_window,
               policy().period.count());
  if (d.delay.count() == 0) restart_now();
}

void RestartEngine::exhausted(const std::string& reason, FailureCause cause) {
  const policies::RestartPolicy& p = policy();
  state_ = EngineState::kFailed;
  spdlog::critical("{}: giving up on the driver: {}; policy '{}' says {}", host_.device_name(),
                   reason, p.name, action_name(p.on_exhausted));
  if (standby_.running()) standby_.terminate(std::chrono::milliseconds(500));
  host_.fail_device(reason);
  if (p.on_exhausted == policies::ExhaustedAction::kStopSupervisor) {
    stop_status_ = p.stop_exit_code;
  } else if (p.on_exhausted == policies::ExhaustedAction::kRunHook) {
    SpawnSpec hook;
    hook.executable = p.hook;
    hook.args = {host_.device_name(), std::string(policies::to_string(cause)), reason};
    hook.role = host_.device_name() + " exhaustion hook";
    auto child = ChildProcess::spawn(hook);
    if (!child) {
      spdlog::error("{}: hook {}: {}", host_.device_name(), p.hook, child.error().describe());
    } else {
      // Not waited for here: the hook may take long; its exit is logged by
      // the destructor's reap at the latest.
      hook_ = std::move(child.value());
      spdlog::info("{}: hook {} started (pid {})", host_.device_name(), p.hook, hook_.pid());
    }
  }
}

void RestartEngine::tick() {
  logging::ScopedLogFields log_fields{
      {"DEVICE", host_.device_name()},
      {"DRIVER_PID", std::to_string(std::max(driver_.pid(), pid_t{0}))}};
  auto now = Clock::now();
  if (state_ == EngineState::kStarting && now >= starting_.next_poll) poll_start(now);
  if (state_ == EngineState::kWaiting && now >= restart_at_) restart_now();
  if (state_ == EngineState::kServing && driver_.running() && !kill_cause_) {
    uint64_t beat = abi::load_shared(host_.control_block()->status.heartbeat);
    if (beat != last_heartbeat_) {
      last_heartbeat_ = beat;
      last_beat_change_ = now;
    } else if (now - last_beat_change_ > policy().heartbeat_timeout) {
      kill_cause_ = FailureCause::kHung;
      kill_reason_ = fmt::format("hung: no heartbeat for {:.0f} ms (timeout {} ms)",
                                 ms(now - last_beat_change_), policy().heartbeat_timeout.count());
      spdlog::warn("{}: driver (pid {}) {}", host_.device_name(), driver_.pid(), kill_reason_);
      driver_.kill_now(SIGKILL);
    }
  }
  if (awaiting_first_completion_ && state_ == EngineState::kServing &&
      host_.first_completion_ns() == 0 && !host_.work_pending()) {
    // Nothing was waiting and nothing came since: the outage ended when the
    // successor began serving.
    awaiting_first_completion_ = false;
    counters_.last_downtime =
        std::chrono::duration_cast<std::chrono::microseconds>(outage_.serving_at - died_at_);
    spdlog::info(
        "{}: recovered (idle: no request was waiting): serving {:.2f} ms after the failure was "
        "detected",
        host_.device_name(), ms(outage_.serving_at - died_at_));
    emit_event(0);
  }
  if (awaiting_first_completion_) {
    int64_t first = host_.first_completion_ns();
    if (first != 0) {
      awaiting_first_completion_ = false;
      auto at = Clock::time_point(Clock::duration(first));
      counters_.last_downtime =
          std::chrono::duration_cast<std::chrono::microseconds>(at - died_at_);
      spdlog::info("{}: recovered: first completion {:.2f} ms after the failure was detected",
                   host_.device_name(), ms(at - died_at_));
      emit_event(first);
    }
  }
  if (state_ == EngineState::kServing && policy().hot_standby && !standby_.running() &&
      now >= standby_retry_at_) {
    standby_retry_at_ = now + kStandbyRetry;
    start_standby();
  }
  if (hook_.running()) {
    if (auto st = hook_.try_reap())
      spdlog::info("{}: hook {}", host_.device_name(), ChildProcess::describe_status(*st));
  }
}

void RestartEngine::emit_event(int64_t first_completion_ns) {
  logging::ScopedLogFields log_fields{
      {"EVENT", "recovered"},
      {"DOWNTIME_US", std::to_string(counters_.last_downtime.count())}};  // set by the caller
  // Machine-readable, one line per recovery, for benchmarks and campaigns:
  // steady_clock (CLOCK_MONOTONIC) nanoseconds, comparable with other
  // processes' clock_gettime(CLOCK_MONOTONIC).
  auto ns = [](Clock::time_point t) { return static_cast<int64_t>(t.time_since_epoch().count()); };
  spdlog::info(
      "event "
      "{{\"event\":\"recovered\",\"device\":\"{}\",\"cause\":\"{}\",\"old_pid\":{},\"new_pid\":{},"
      "\"mode\":\"{}\",\"standby\":{},\"warm_refused\":{},\"resent\":{},\"detected_ns\":{},"
      "\"serving_ns\":{},\"first_completion_ns\":{}}}",
      host_.device_name(), outage_.cause, outage_.old_pid, outage_.new_pid,
      outage_.warm ? "warm" : "cold", outage_.standby, outage_.warm_refused, outage_.resent,
      ns(died_at_), ns(outage_.serving_at), first_completion_ns);
  if (recovery_listener_) {
    RecoveryRecord r;
    r.cause = outage_.cause;
    r.warm = outage_.warm;
    r.standby = outage_.standby;
    r.warm_refused = outage_.warm_refused;
    r.old_pid = outage_.old_pid;
    r.new_pid = outage_.new_pid;
    r.resent = outage_.resent;
    r.detect_to_serving =
        std::chrono::duration_cast<std::chrono::microseconds>(outage_.serving_at - died_at_);
    r.downtime = counters_.last_downtime;
    recovery_listener_(r);
  }
}

Clock::time_point RestartEngine::next_deadline() const {
  auto now = Clock::now();
  Clock::time_point next = now + std::chrono::seconds(1);
  if (state_ == EngineState::kWaiting) next = std::min(next, restart_at_);
  if (state_ == EngineState::kStarting) next = std::min(next, starting_.next_poll);
  if (state_ == EngineState::kServing) next = std::min(next, now + policy().heartbeat_interval);
  if (state_ == EngineState::kServing && policy().hot_standby && !standby_.running())
    next = std::min(next, standby_retry_at_);
  return next;
}

void RestartEngine::set_policy(const policies::RestartPolicy& p) {
  bool had_standby = policy().hot_standby;
  bool limits_changed = !(policy().limits == p.limits);
  tracker_.set_policy(p);
  // A standby spawned under the old limits would be promoted with them; the
  // next one is started from tick() under the new ones.
  if (standby_.running() && ((had_standby && !p.hot_standby) || limits_changed))
    standby_.terminate(std::chrono::milliseconds(500));
}

void RestartEngine::stop() {
  if (state_ == EngineState::kStopped && !driver_.running() && !standby_.running()) return;
  state_ = EngineState::kStopped;
  if (standby_.running()) standby_.terminate(std::chrono::seconds(1));
  if (driver_.running()) driver_.terminate(std::chrono::seconds(2));
  if (hook_.running()) hook_.try_reap();
}

}  // namespace uldd::supervisor
