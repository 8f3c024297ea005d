#include "ulddctl/human_format.h"

#include <time.h>

#include <cstdio>
#include <numeric>

#include "ulddctl/table.h"

namespace uldd::ctl {
namespace {

std::string pid_or_dash(uint64_t pid) {
  return pid == 0 ? "-" : std::to_string(pid);
}

std::string counters_line(const std::map<std::string, uint64_t>& counters, bool skip_zero = false) {
  std::string out;
  for (const auto& [name, value] : counters) {
    if (skip_zero && value == 0) continue;
    if (!out.empty()) out += ", ";
    out += name + " " + std::to_string(value);
  }
  return out;
}

// Per-bucket (not cumulative) counts, "<=500us 0, <=1ms 2, ..., >10s 0".
std::string histogram_line(const supervisor::DowntimeHistogram& h) {
  std::string out;
  uint64_t below = 0;
  for (size_t i = 0; i < supervisor::kDowntimeBucketsUs.size(); ++i) {
    const uint64_t in_bucket = h.buckets[i] >= below ? h.buckets[i] - below : 0;
    below = std::max(below, h.buckets[i]);
    if (!out.empty()) out += ", ";
    out +=
        "<=" + human_duration(supervisor::kDowntimeBucketsUs[i]) + " " + std::to_string(in_bucket);
  }
  out += ", >" + human_duration(supervisor::kDowntimeBucketsUs.back()) + " " +
         std::to_string(h.count >= below ? h.count - below : 0);
  return out;
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string human_duration(uint64_t us, bool dash_for_zero) {
  if (us == 0 && dash_for_zero) return "-";
  char buf[64];
  if (us < 1'000) {
    std::snprintf(buf, sizeof buf, "%lluus", static_cast<unsigned long long>(us));
  } else if (us < 999'500) {  // %.3g of 999.5 ms would print "1e+03"
    std::snprintf(buf, sizeof buf, "%.3gms", static_cast<double>(us) / 1e3);
  } else if (us < 60'000'000) {
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(us) / 1e6);
  } else {
    const unsigned long long s = us / 1'000'000;
    std::snprintf(buf, sizeof buf, "%llumin %llus", s / 60, s % 60);
  }
  return buf;
}

std::string human_timestamp(uint64_t realtime_us) {
  const time_t seconds = static_cast<time_t>(realtime_us / 1'000'000);
  tm local{};
  localtime_r(&seconds, &local);
  char date[64];
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &local);
  char zone[16];
  strftime(zone, sizeof zone, "%Z", &local);
  char out[112];
  std::snprintf(out, sizeof out, "%s.%03u %s", date,
                static_cast<unsigned>(realtime_us / 1000 % 1000), zone);
  return out;
}

std::string format_device_list(const std::vector<DeviceRow>& rows, bool legend) {
  using A = Table::Align;
  Table table({{"DEVICE", A::kLeft},
               {"KIND", A::kLeft},
               {"STATE", A::kLeft},
               {"PID", A::kRight},
               {"RESTARTS", A::kRight},
               {"FAULTS", A::kRight},
               {"LAST-DOWNTIME", A::kRight}});
  for (const auto& row : rows)
    table.add_row({row.name, row.kind, row.state, pid_or_dash(row.driver_pid),
                   std::to_string(row.restarts), std::to_string(row.faults),
                   human_duration(row.last_downtime_us, true)});
  std::string out = table.render(legend);
  if (legend) out += "\n" + plural(rows.size(), "device", "devices") + " listed.\n";
  return out;
}

std::string format_supervisor_status(const SupervisorInfo& info, const std::vector<DeviceRow>& rows,
                                     bool legend) {
  std::map<std::string, uint64_t> by_state;
  for (const auto& row : rows) ++by_state[row.state];
  std::string states;
  for (const auto& [state, n] : by_state)
    states += (states.empty() ? "" : ", ") + std::to_string(n) + " " + state;
  std::string out = "● uldd-supervisor " + info.version + ": " + info.state + "\n";
  out += "  Log level: " + info.log_level + "\n";
  out += "    Devices: " + std::to_string(rows.size()) +
         (states.empty() ? "" : " (" + states + ")") + "\n\n";
  return out + format_device_list(rows, legend);
}

std::string format_device_status(const supervisor::DeviceSnapshot& d, bool histogram_known,
                                 uint64_t now_realtime_us) {
  const uint64_t faults =
      std::accumulate(d.faults_by_cause.begin(), d.faults_by_cause.end(), uint64_t{0},
                      [](uint64_t sum, const auto& kv) { return sum + kv.second; });
  std::string out = "● " + d.name + " (" + d.kind + "): " + d.state + "\n";
  out += "        Mode: " + d.mode + "\n";
  out += "      Driver: " + d.driver +
         (d.driver_pid ? " (pid " + std::to_string(d.driver_pid) + ")" : " (not running)") + "\n";
  out += "     Standby: " +
         (d.standby_pid ? "pid " + std::to_string(d.standby_pid) : std::string("none")) + "\n";
  out += "       Model: " +
         (d.model_pid ? "pid " + std::to_string(d.model_pid) : std::string("none")) + "\n";
  out += "      Policy: " + d.policy + "\n";
  out += "    Restarts: " + std::to_string(d.restarts) + " (warm " +
         std::to_string(d.restarts_warm) + ", cold " + std::to_string(d.restarts_cold) +
         "; warm refused " + std::to_string(d.warm_refused) + "; standby promotions " +
         std::to_string(d.standby_promotions) + "; requests resent " +
         std::to_string(d.requests_resent) + ")\n";
  out += "      Faults: " + std::to_string(faults) +
         (faults == 0 ? std::string() : " (" + counters_line(d.faults_by_cause, true) + ")") + "\n";
  if (d.last_fault.empty()) {
    out += "  Last fault: none\n";
  } else {
    out += "  Last fault: " + d.last_fault + "\n";
    if (d.last_fault_realtime_us != 0) {
      out += "              at " + human_timestamp(d.last_fault_realtime_us);
      if (now_realtime_us >= d.last_fault_realtime_us)
        out += " (" + human_duration(now_realtime_us - d.last_fault_realtime_us) + " ago)";
      out += "\n";
    }
  }
  out += "    Downtime: last " + human_duration(d.downtime.last_us) + ", max " +
         human_duration(d.downtime.max_us) + ", total " + human_duration(d.downtime.sum_us) +
         " in " + plural(d.downtime.count, "recovery", "recoveries") + "\n";
  if (histogram_known) out += "   Histogram: " + histogram_line(d.downtime) + "\n";
  out += "         I/O: " + (d.io.empty() ? std::string("-") : counters_line(d.io)) + "\n";
  return out;
}

std::string format_event_line(const BusEvent& e) {
  std::string out =
      human_timestamp(e.received_realtime_us) + " " + e.device + " " + signal_name(e.kind) + ": ";
  switch (e.kind) {
    case BusEvent::Kind::kDeviceStateChanged:
      out += e.old_state + " -> " + e.new_state + " (driver pid " + pid_or_dash(e.driver_pid) + ")";
      break;
    case BusEvent::Kind::kRecovered:
      out += e.mode + " after " + e.cause + (e.standby ? " (standby promoted)" : "") + ", pid " +
             pid_or_dash(e.old_pid) + " -> " + pid_or_dash(e.new_pid) + ", downtime " +
             human_duration(e.downtime_us) + ", detect-to-serving " +
             human_duration(e.detect_to_serving_us) + ", " + std::to_string(e.resent) + " resent";
      break;
    case BusEvent::Kind::kFaultInjected:
      out += e.fault + (e.detail.empty() ? "" : ": " + e.detail);
      break;
  }
  return out;
}

}  // namespace uldd::ctl
