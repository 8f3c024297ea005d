// RestartEngine, the operator's side: restart, stop and start a device's
// driver on request (D-Bus / ulddctl), and the figures the control plane
// reads (state names, faults by cause). Failure-driven recovery is in
// restart_engine.cc; starting a successor in restart_engine_launch.cc.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include "supervisor/restart_engine.h"

namespace uldd::supervisor {

std::string_view to_string(EngineState state) {
  switch (state) {
    case EngineState::kServing:
      return "serving";
    case EngineState::kWaiting:
    case EngineState::kStarting:
      return "recovering";
    case EngineState::kFailed:
      return "failed";
    case EngineState::kHeld:
    case EngineState::kStopped:
      return "stopped";
  }
  return "?";
}

void RestartEngine::note_fault_time() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  last_fault_realtime_us_ =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

std::map<std::string, uint64_t> RestartEngine::faults_by_cause() const {
  std::map<std::string, uint64_t> out;
  const auto& by = tracker_.counters().by_cause;
  for (size_t i = 0; i < by.size(); ++i)
    out[std::string(policies::to_string(static_cast<policies::FailureCause>(i)))] = by[i];
  // Start failures decided by the policy are in by_cause already; the
  // operator's restarts never reach the tracker.
  out["operator"] = operator_restarts_;
  return out;
}

Status RestartEngine::operator_restart() {
  if (state_ != EngineState::kServing || !driver_.running())
    return Error{EBUSY, host_.device_name() + ": cannot restart: the driver is " +
                            std::string(to_string(state_)) + ", not serving"};
  if (operator_restart_pending_ || kill_cause_)
    return Error{EBUSY, host_.device_name() + ": a restart is already under way"};
  operator_restart_pending_ = true;
  spdlog::info("{}: operator restart: stopping driver (pid {})", host_.device_name(),
               driver_.pid());
  // SIGKILL, as a crash: the recovery path is the one every failure takes,
  // so an operator's restart exercises exactly what a crash would.
  driver_.kill_now(SIGKILL);
  return {};
}

Status RestartEngine::operator_stop() {
  if (state_ == EngineState::kHeld)
    return Error{EBUSY, host_.device_name() + ": the driver is already stopped"};
  if (state_ == EngineState::kFailed || state_ == EngineState::kStopped)
    return Error{EBUSY, host_.device_name() + ": cannot stop: the device is " +
                            std::string(to_string(state_))};
  // Whatever was under way (a scheduled restart, a starting successor) is
  // abandoned: the operator's stop wins until start.
  host_.hold_requests();
  state_ = EngineState::kHeld;
  operator_restart_pending_ = false;
  awaiting_first_completion_ = false;
  kill_cause_.reset();
  // SIGKILL, not SIGTERM and a grace period: a driver may be stopped or
  // wedged (a sigstop fault), and waiting here would stall every device on
  // this loop. Both pidfds stay watched; kHeld reaps them when they report.
  standby_.kill_now(SIGKILL);
  driver_.kill_now(SIGKILL);
  held_since_ = Clock::now();
  spdlog::warn("{}: driver stopped by the operator; requests are held until it is started",
               host_.device_name());
  return {};
}

Status RestartEngine::operator_start() {
  if (state_ == EngineState::kFailed)
    return Error{
        EBUSY,
        host_.device_name() +
            ": the device has failed (policy exhausted or device model gone) and its shim is "
            "stopped; restart the supervisor to bring it back"};
  if (state_ != EngineState::kHeld)
    return Error{EBUSY, host_.device_name() + ": cannot start: the driver is " +
                            std::string(to_string(state_)) +
                            " (start is for a driver stopped by the operator)"};
  // The outage began when the operator stopped the driver.
  died_at_ = held_since_;
  outage_ = Outage{};
  outage_.cause = "operator";
  spdlog::info("{}: operator start", host_.device_name());
  state_ = EngineState::kWaiting;
  restart_at_ = Clock::now();
  restart_now();
  if (state_ != EngineState::kStarting && state_ != EngineState::kServing)
    return Error{EIO, host_.device_name() + ": start failed: " + counters_.last_fault};
  return {};
}

Status RestartEngine::signal_driver(int signal) {
  if (!driver_.running() || (state_ != EngineState::kServing && state_ != EngineState::kStarting))
    return Error{EBUSY, host_.device_name() + ": no driver to inject into: the device is " +
                            std::string(to_string(state_))};
  driver_.kill_now(signal);
  return {};
}

}  // namespace uldd::supervisor
