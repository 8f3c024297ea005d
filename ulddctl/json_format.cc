#include "ulddctl/json_format.h"

#include <time.h>

#include <cstdio>
#include <numeric>

namespace uldd::ctl {

std::string iso8601_utc(uint64_t realtime_us) {
  const time_t seconds = static_cast<time_t>(realtime_us / 1'000'000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char date[40];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06uZ", date, static_cast<unsigned>(realtime_us % 1'000'000));
  return out;
}

nlohmann::ordered_json device_row_json(const DeviceRow& row) {
  return {{"device", row.name},           {"kind", row.kind},
          {"state", row.state},           {"driver_pid", row.driver_pid},
          {"restarts", row.restarts},     {"faults", row.faults},
          {"last_fault", row.last_fault}, {"last_downtime_us", row.last_downtime_us}};
}

nlohmann::ordered_json device_list_json(const std::vector<DeviceRow>& rows) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& row : rows) list.push_back(device_row_json(row));
  return list;
}

nlohmann::ordered_json device_json(const supervisor::DeviceSnapshot& d, bool histogram_known) {
  nlohmann::ordered_json histogram = nullptr;
  if (histogram_known) {
    histogram = nlohmann::ordered_json::array();
    for (size_t i = 0; i < supervisor::kDowntimeBucketsUs.size(); ++i)
      histogram.push_back(
          {{"le_us", supervisor::kDowntimeBucketsUs[i]}, {"count", d.downtime.buckets[i]}});
    histogram.push_back({{"le_us", "+Inf"}, {"count", d.downtime.count}});
  }
  const uint64_t faults =
      std::accumulate(d.faults_by_cause.begin(), d.faults_by_cause.end(), uint64_t{0},
                      [](uint64_t sum, const auto& kv) { return sum + kv.second; });
  return {{"device", d.name},
          {"kind", d.kind},
          {"state", d.state},
          {"mode", d.mode},
          {"driver", d.driver},
          {"policy", d.policy},
          {"driver_pid", d.driver_pid},
          {"standby_pid", d.standby_pid},
          {"model_pid", d.model_pid},
          {"restarts", d.restarts},
          {"restarts_warm", d.restarts_warm},
          {"restarts_cold", d.restarts_cold},
          {"warm_refused", d.warm_refused},
          {"standby_promotions", d.standby_promotions},
          {"requests_resent", d.requests_resent},
          {"faults", faults},
          {"faults_by_cause", d.faults_by_cause},
          {"last_fault", d.last_fault},
          {"last_fault_timestamp_us", d.last_fault_realtime_us},
          {"downtime",
           {{"last_us", d.downtime.last_us},
            {"max_us", d.downtime.max_us},
            {"total_us", d.downtime.sum_us},
            {"recoveries", d.downtime.count},
            {"histogram", histogram}}},
          {"io", d.io}};
}

nlohmann::ordered_json supervisor_json(const SupervisorInfo& info) {
  return {{"version", info.version}, {"state", info.state}, {"log_level", info.log_level}};
}

nlohmann::ordered_json event_json(const BusEvent& e) {
  nlohmann::ordered_json out = {{"time", iso8601_utc(e.received_realtime_us)},
                                {"time_us", e.received_realtime_us},
                                {"signal", signal_name(e.kind)},
                                {"device", e.device}};
  switch (e.kind) {
    case BusEvent::Kind::kDeviceStateChanged:
      out["old_state"] = e.old_state;
      out["new_state"] = e.new_state;
      out["driver_pid"] = e.driver_pid;
      break;
    case BusEvent::Kind::kRecovered:
      out["cause"] = e.cause;
      out["mode"] = e.mode;
      out["standby"] = e.standby;
      out["old_pid"] = e.old_pid;
      out["new_pid"] = e.new_pid;
      out["detect_to_serving_us"] = e.detect_to_serving_us;
      out["downtime_us"] = e.downtime_us;
      out["resent"] = e.resent;
      break;
    case BusEvent::Kind::kFaultInjected:
      out["fault"] = e.fault;
      out["detail"] = e.detail;
      break;
  }
  return out;
}

std::string dump_json(const nlohmann::ordered_json& document, int indent) {
  return document.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace uldd::ctl
