#include "ulddctl/verbs.h"

#include <time.h>

#include <ostream>

#include "ulddctl/downtime_buckets.h"
#include "ulddctl/human_format.h"
#include "ulddctl/json_format.h"

namespace uldd::ctl {
namespace {

uint64_t realtime_now_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

ExitCode Verbs::fail(const CallError& error, const std::string& verb, const std::string& device) {
  err_ << failure_line(error, {verb, device, client_.bus_description()}) << std::endl;
  return exit_code_for(error.name);
}

ExitCode Verbs::status(const std::string& device) {
  // The histogram buckets come from the metrics (read once, when a device
  // is shown in detail); a daemon that cannot give them still has a status.
  std::optional<CallResult<std::string>> metrics;
  auto with_buckets = [&](supervisor::DeviceSnapshot& snapshot) {
    if (!metrics) metrics = client_.metrics_text();
    return metrics->ok() &&
           read_downtime_buckets(metrics->value(), snapshot.name, &snapshot.downtime);
  };
  if (!device.empty()) {
    auto snapshot = client_.device(device);
    if (!snapshot) return fail(snapshot.error(), "status", device);
    const bool histogram_known = with_buckets(*snapshot);
    if (output_.json)
      out_ << dump_json(device_json(*snapshot, histogram_known), 2) << "\n";
    else
      out_ << format_device_status(*snapshot, histogram_known, realtime_now_us());
    return ExitCode::kSuccess;
  }
  auto info = client_.supervisor_info();
  if (!info) return fail(info.error(), "status");
  auto rows = client_.list_devices();
  if (!rows) return fail(rows.error(), "status");
  if (!output_.json) {
    out_ << format_supervisor_status(*info, *rows, output_.legend);
    return ExitCode::kSuccess;
  }
  nlohmann::ordered_json devices = nlohmann::ordered_json::array();
  for (const auto& row : *rows) {
    auto snapshot = client_.device(row.name);
    if (!snapshot) return fail(snapshot.error(), "status", row.name);
    const bool histogram_known = with_buckets(*snapshot);
    devices.push_back(device_json(*snapshot, histogram_known));
  }
  out_ << dump_json({{"supervisor", supervisor_json(*info)}, {"devices", devices}}, 2) << "\n";
  return ExitCode::kSuccess;
}

ExitCode Verbs::list() {
  auto rows = client_.list_devices();
  if (!rows) return fail(rows.error(), "list");
  if (output_.json)
    out_ << dump_json(device_list_json(*rows), 2) << "\n";
  else
    out_ << format_device_list(*rows, output_.legend);
  return ExitCode::kSuccess;
}

ExitCode Verbs::device_action(const std::string& verb, const std::vector<std::string>& devices) {
  ExitCode first_failure = ExitCode::kSuccess;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& device : devices) {
    CallStatus status = verb == "restart" ? client_.restart(device)
                        : verb == "stop"  ? client_.stop(device)
                                          : client_.start(device);
    if (status) {
      results.push_back({{"device", device}, {"ok", true}});
      continue;
    }
    const ExitCode code = fail(status.error(), verb, device);
    if (first_failure == ExitCode::kSuccess) first_failure = code;
    results.push_back({{"device", device},
                       {"ok", false},
                       {"error", status.error().name},
                       {"message", status.error().message},
                       {"exit_code", as_int(code)}});
  }
  if (output_.json) out_ << dump_json({{"verb", verb}, {"results", results}}, 2) << "\n";
  return first_failure;
}

ExitCode Verbs::reload() {
  auto summary = client_.reload();
  if (!summary) return fail(summary.error(), "reload");
  if (output_.json)
    out_ << dump_json({{"summary", *summary}}, 2) << "\n";
  else
    out_ << *summary << "\n";
  return ExitCode::kSuccess;
}

ExitCode Verbs::inject(const std::string& device, const std::string& type,
                       const std::map<std::string, std::string>& params) {
  auto detail = client_.inject_fault(device, type, params);
  if (!detail) return fail(detail.error(), "inject", device);
  if (output_.json)
    out_ << dump_json(
                {{"device", device}, {"fault", type}, {"params", params}, {"detail", *detail}}, 2)
         << "\n";
  else
    out_ << *detail << "\n";
  return ExitCode::kSuccess;
}

ExitCode Verbs::fault_types() {
  auto types = client_.fault_types();
  if (!types) return fail(types.error(), "fault-types");
  if (output_.json) {
    out_ << dump_json(*types, 2) << "\n";
  } else {
    for (const auto& type : *types) out_ << type << "\n";
  }
  return ExitCode::kSuccess;
}

ExitCode Verbs::events(uint64_t count, std::chrono::milliseconds timeout,
                       const std::function<bool()>& interrupted) {
  uint64_t seen = 0;
  auto subscribed = [&] {
    if (output_.legend)
      err_ << "Following org.uldd.Supervisor1 signals on " << client_.bus_description()
           << "; Ctrl-C ends." << std::endl;
  };
  auto on_event = [&](const BusEvent& event) {
    // Flushed per line: a script reading a pipe sees each event as it comes.
    out_ << (output_.json ? dump_json(event_json(event), -1) : format_event_line(event))
         << std::endl;
    return count == 0 || ++seen < count;
  };
  auto end = client_.follow_events(subscribed, on_event, timeout, interrupted);
  if (!end) return fail(end.error(), "events");
  if (*end == SupervisorClient::FollowEnd::kTimeout && count != 0) {
    err_ << "ulddctl: events: " << seen << " of " << count << " events in "
         << timeout.count() / 1000.0 << " s" << std::endl;
    return ExitCode::kFailed;
  }
  return ExitCode::kSuccess;
}

ExitCode Verbs::metrics() {
  auto text = client_.metrics_text();
  if (!text) return fail(text.error(), "metrics");
  if (output_.json)
    out_ << dump_json({{"text", *text}}, 2) << "\n";
  else
    out_ << *text << (text->empty() || text->back() == '\n' ? "" : "\n");
  return ExitCode::kSuccess;
}

ExitCode Verbs::log_level(const std::optional<std::string>& new_level) {
  if (new_level) {
    auto status = client_.set_log_level(*new_level);
    if (!status) return fail(status.error(), "log-level");
    if (output_.json) out_ << dump_json({{"log_level", *new_level}}, 2) << "\n";
    return ExitCode::kSuccess;
  }
  auto info = client_.supervisor_info();
  if (!info) return fail(info.error(), "log-level");
  if (output_.json)
    out_ << dump_json({{"log_level", info->log_level}}, 2) << "\n";
  else
    out_ << info->log_level << "\n";
  return ExitCode::kSuccess;
}

std::string choose_bus_address(const std::string& address_option, bool system_option,
                               const char* env_address) {
  std::string address = address_option;
  if (address.empty() && !system_option && env_address != nullptr) address = env_address;
  if (!address.empty() && address.front() == '/') address = "unix:path=" + address;
  return address;
}

}  // namespace uldd::ctl
