#include "supervisor/device_control.h"

#include <cerrno>

namespace uldd::supervisor {
namespace {

Status colocated(const std::string& name) {
  return Error{ENOTSUP, name + ": colocated: the driver runs inside the supervisor and cannot be " +
                            "restarted, stopped or started on its own"};
}

}  // namespace

Status DeviceControl::restart_driver() {
  RestartEngine* e = engine();
  return e ? e->operator_restart() : colocated(name());
}

Status DeviceControl::stop_driver() {
  RestartEngine* e = engine();
  return e ? e->operator_stop() : colocated(name());
}

Status DeviceControl::start_driver() {
  RestartEngine* e = engine();
  return e ? e->operator_start() : colocated(name());
}

void fill_engine_fields(const RestartEngine* engine, bool failed, DeviceSnapshot& s) {
  s.mode = engine ? "isolated" : "colocated";
  if (engine == nullptr) {
    s.state = failed ? "failed" : "serving";
    return;
  }
  s.state = failed ? "failed" : std::string(to_string(engine->state()));
  s.driver_pid = std::max<pid_t>(engine->driver_pid(), 0);
  s.standby_pid = std::max<pid_t>(engine->standby_pid(), 0);
  const RecoveryCounters& c = engine->counters();
  s.restarts_warm = c.restarts_warm;
  s.restarts_cold = c.restarts_cold;
  s.restarts = c.restarts_warm + c.restarts_cold;
  s.warm_refused = c.warm_refused;
  s.standby_promotions = c.standby_promotions;
  s.requests_resent = c.requests_resent;
  s.last_fault = c.last_fault;
  s.last_fault_realtime_us = engine->last_fault_realtime_us();
  s.faults_by_cause = engine->faults_by_cause();
  s.policy = engine->policy().name;
}

}  // namespace uldd::supervisor
