// Supervisor, as the control plane sees it (SupervisorControl): snapshots of
// every device, the operator's restart/stop/start, policy reload, fault
// injection, the log level and metrics — and the change notifications
// (ControlEvents) the D-Bus service turns into signals. Everything here runs
// on the supervisor's loop thread. Fault injection: supervisor_fault_injection.cc.
#include <spdlog/spdlog.h>

#include <cerrno>

#include "supervisor/logging/configure_logging.h"
#include "supervisor/metrics/metrics_file.h"
#include "supervisor/metrics/openmetrics_text.h"
#include "supervisor/supervisor.h"
#include "supervisor/systemd/service_notifier.h"
#include "supervisor/systemd/status_summary.h"

namespace uldd::supervisor {

Result<DeviceControl*> Supervisor::find_device(std::string_view name) const {
  for (DeviceControl* d : device_views_)
    if (d->name() == name) return d;
  std::string known;
  for (DeviceControl* d : device_views_) known += (known.empty() ? "" : ", ") + d->name();
  return Error{ENOENT, "no such device '" + std::string(name) + "' (devices: " + known + ")"};
}

std::vector<DeviceSnapshot> Supervisor::devices() const {
  std::vector<DeviceSnapshot> out;
  out.reserve(device_views_.size());
  for (DeviceControl* d : device_views_) {
    out.push_back(d->snapshot());
    if (auto it = downtime_.find(d->name()); it != downtime_.end())
      out.back().downtime = it->second;
  }
  return out;
}

Result<DeviceSnapshot> Supervisor::device(std::string_view name) const {
  auto d = find_device(name);
  if (!d) return d.error();
  DeviceSnapshot s = (*d)->snapshot();
  if (auto it = downtime_.find(s.name); it != downtime_.end()) s.downtime = it->second;
  return s;
}

Status Supervisor::restart_driver(std::string_view name) {
  auto d = find_device(name);
  if (!d) return d.error();
  return (*d)->restart_driver();
}

Status Supervisor::stop_driver(std::string_view name) {
  auto d = find_device(name);
  if (!d) return d.error();
  return (*d)->stop_driver();
}

Status Supervisor::start_driver(std::string_view name) {
  auto d = find_device(name);
  if (!d) return d.error();
  return (*d)->start_driver();
}

Result<std::string> Supervisor::reload_policies() {
  return reload_policies_for("D-Bus Reload");
}

Result<std::string> Supervisor::reload_policies_for(std::string_view trigger) {
  if (!std::filesystem::is_directory(config_.policy_dir))  // as at start-up
    return "policy_dir " + config_.policy_dir.string() +
           " does not exist: only the built-in 'default' policy";
  auto loaded = policies_->reload();
  if (!loaded) return Error{EIO, loaded.error().message};  // a bad file: nothing applied
  // All or nothing also across devices: a policy a device names must exist
  // in the new set before any device gets its new one.
  std::string missing;
  for (const auto& c : config_.disks)
    if (!policies_->find(c.policy)) missing += " " + c.name + " ('" + c.policy + "')";
  for (const auto& c : config_.nics)
    if (!policies_->find(c.policy)) missing += " " + c.name + " ('" + c.policy + "')";
  if (!missing.empty())
    return Error{EIO,
                 "policies no longer present for:" + missing + "; no device's policy was changed"};
  std::string summary;
  auto apply = [&](auto& devices, const auto& configs) {
    for (size_t i = 0; i < devices.size(); ++i) {
      const std::string& name = configs[i].policy;
      auto policy = policies_->find(name);
      std::string line;
      if (!policy) {
        line =
            devices[i]->name() + ": policy '" + name + "' no longer exists; keeping the one in use";
        spdlog::error("{}: {}", trigger, line);
      } else {
        devices[i]->set_policy(*policy);
        line = devices[i]->name() + ": policy '" + name + "' reloaded from " + policy->source;
        spdlog::info("{}: {}", trigger, line);
      }
      summary += (summary.empty() ? "" : "\n") + line;
    }
  };
  apply(disks_, config_.disks);
  apply(nics_, config_.nics);
  return summary;
}

std::string Supervisor::log_level() const {
  return logging::log_level_name();
}

Status Supervisor::set_log_level(std::string_view level) {
  Status s = logging::set_log_level(level);
  if (!s) return Error{EINVAL, s.error().message};
  spdlog::info("log level set to {}", level);
  return {};
}

void Supervisor::attach_control_plane() {
  device_views_.clear();
  for (auto& d : disks_) device_views_.push_back(d.get());
  for (auto& n : nics_) device_views_.push_back(n.get());
  for (DeviceControl* d : device_views_) {
    RestartEngine* engine = d->engine();
    if (engine == nullptr) continue;
    std::string name = d->name();
    engine->set_recovery_listener([this, name](const RecoveryRecord& r) {
      downtime_[name].add(static_cast<uint64_t>(r.downtime.count()));
      if (events_ == nullptr) return;
      RecoveryEvent e;
      e.device = name;
      e.cause = r.cause;
      e.mode = r.warm ? "warm" : "cold";
      e.standby = r.standby;
      e.warm_refused = r.warm_refused;
      e.old_pid = std::max<pid_t>(r.old_pid, 0);
      e.new_pid = std::max<pid_t>(r.new_pid, 0);
      e.resent = r.resent;
      e.detect_to_serving_us = static_cast<uint64_t>(r.detect_to_serving.count());
      e.downtime_us = static_cast<uint64_t>(r.downtime.count());
      events_->recovered(e);
    });
  }
}

void Supervisor::set_state(std::string state) {
  if (state == state_) return;
  state_ = std::move(state);
  if (events_ != nullptr) events_->supervisor_state_changed(state_);
}

void Supervisor::publish_changes() {
  bool all_serving = true;
  bool changed = false;
  for (DeviceControl* d : device_views_) {
    // A cheap look first: a full snapshot only when something a client
    // follows has changed (this runs on every loop iteration).
    Fingerprint now;
    RestartEngine* engine = d->engine();
    now.state = d->failed() ? "failed"
                : engine    ? std::string(to_string(engine->state()))
                            : "serving";
    if (engine != nullptr) {
      now.driver_pid = std::max<pid_t>(engine->driver_pid(), 0);
      now.standby_pid = std::max<pid_t>(engine->standby_pid(), 0);
      now.restarts = engine->counters().restarts_warm + engine->counters().restarts_cold;
      now.last_fault = engine->counters().last_fault;
    }
    if (auto it = downtime_.find(d->name()); it != downtime_.end())
      now.recoveries = it->second.count;
    all_serving = all_serving && now.state == "serving";
    Fingerprint& before = published_[d->name()];
    if (now == before) continue;
    std::string old_state = before.state.empty() ? "starting" : before.state;
    before = now;
    changed = true;
    if (events_ != nullptr) {
      DeviceSnapshot s = d->snapshot();
      if (auto it = downtime_.find(s.name); it != downtime_.end()) s.downtime = it->second;
      events_->device_changed(s, old_state);
    }
  }
  if (state_ != "stopping") set_state(all_serving ? "running" : "degraded");
  // STATUS= follows changes, not only the status tick (which may be off).
  if (changed && notifier_) notifier_->status(systemd::status_summary(devices()));
}

std::string Supervisor::metrics_text() const {
  return metrics::render_openmetrics(devices());
}

void Supervisor::write_metrics_file() const {
  if (config_.metrics_file.empty()) return;
  Status s = metrics::MetricsFile(config_.metrics_file).write(metrics_text());
  if (!s && !metrics_write_failed_) {
    metrics_write_failed_ = true;  // once: it would repeat every status tick
    spdlog::warn("metrics file: {}", s.error().describe());
  }
}

}  // namespace uldd::supervisor
