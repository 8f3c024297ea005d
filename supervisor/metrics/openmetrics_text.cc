#include "supervisor/metrics/openmetrics_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

namespace uldd::supervisor::metrics {
namespace {

// Every state a device can be in (device_snapshot.h), so that a stateset
// always has the same samples whatever the current state is.
constexpr std::array<const char*, 5> kStates{"starting", "serving", "recovering", "stopped",
                                             "failed"};
// Fault causes shown even at zero, so that rate() and alerts see a series
// from the start instead of one appearing at the first fault.
constexpr std::array<const char*, 6> kCauses{
    "crashed", "hung", "exited", "protocol-violation", "start-failed", "operator"};

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// A metric name part from an I/O counter key: [a-zA-Z0-9_] only.
std::string name_part(const std::string& key) {
  std::string out;
  for (char c : key) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return out;
}

bool is_level(const std::string& io_key) {
  return io_key == "requests_open" || io_key == "descriptors_in_flight" ||
         io_key.ends_with("_posted");
}

struct Family {
  std::string type;  // counter | gauge | stateset | histogram
  std::string unit;  // "" or the name's unit suffix
  std::string help;
  std::vector<std::string> samples;  // whole lines, without the newline
};

class Exposition {
 public:
  Family& family(const std::string& name, const std::string& type, const std::string& help,
                 const std::string& unit = "") {
    Family& f = families_[name];
    if (f.type.empty()) f = Family{type, unit, help, {}};
    return f;
  }
  std::string text() const {
    std::string out;
    for (const auto& [name, f] : families_) {
      out += fmt::format("# TYPE {} {}\n", name, f.type);
      if (!f.unit.empty()) out += fmt::format("# UNIT {} {}\n", name, f.unit);
      out += fmt::format("# HELP {} {}\n", name, f.help);
      for (const auto& s : f.samples) out += s + "\n";
    }
    return out + "# EOF\n";
  }

 private:
  std::map<std::string, Family> families_;  // sorted: a family's samples stay together
};

void add_device(Exposition& x, const DeviceSnapshot& d) {
  const std::string labels =
      fmt::format("device=\"{}\",kind=\"{}\"", escape_label(d.name), escape_label(d.kind));
  auto& state = x.family("uldd_device_state", "stateset", "Device state (docs/dbus-api.md)");
  for (const char* s : kStates)
    state.samples.push_back(fmt::format("uldd_device_state{{{},uldd_device_state=\"{}\"}} {}",
                                        labels, s, d.state == s ? 1 : 0));
  x.family("uldd_driver_up", "gauge", "1 while a driver process runs for the device")
      .samples.push_back(fmt::format("uldd_driver_up{{{}}} {}", labels, d.driver_pid != 0 ? 1 : 0));

  auto& restarts =
      x.family("uldd_restarts", "counter", "Successful driver restarts by resume mode");
  restarts.samples.push_back(
      fmt::format("uldd_restarts_total{{{},mode=\"warm\"}} {}", labels, d.restarts_warm));
  restarts.samples.push_back(
      fmt::format("uldd_restarts_total{{{},mode=\"cold\"}} {}", labels, d.restarts_cold));
  x.family("uldd_standby_promotions", "counter", "Hot standby drivers promoted")
      .samples.push_back(
          fmt::format("uldd_standby_promotions_total{{{}}} {}", labels, d.standby_promotions));
  x.family("uldd_warm_refused", "counter", "Warm resumes refused (fell back to cold)")
      .samples.push_back(fmt::format("uldd_warm_refused_total{{{}}} {}", labels, d.warm_refused));
  x.family("uldd_requests_resent", "counter", "Requests reissued to a restarted driver")
      .samples.push_back(
          fmt::format("uldd_requests_resent_total{{{}}} {}", labels, d.requests_resent));

  std::map<std::string, uint64_t> faults(d.faults_by_cause);
  for (const char* c : kCauses) faults.emplace(c, 0);
  auto& fault_family = x.family("uldd_faults", "counter", "Driver faults by cause");
  for (const auto& [cause, n] : faults)
    fault_family.samples.push_back(
        fmt::format("uldd_faults_total{{{},cause=\"{}\"}} {}", labels, escape_label(cause), n));

  auto& h = x.family("uldd_recovery_downtime_seconds", "histogram",
                     "Recovery downtime: failure detected to first completion", "seconds");
  for (size_t i = 0; i < kDowntimeBucketsUs.size(); ++i)
    h.samples.push_back(
        fmt::format("uldd_recovery_downtime_seconds_bucket{{{},le=\"{}\"}} {}", labels,
                    openmetrics_float(static_cast<double>(kDowntimeBucketsUs[i]) / 1e6),
                    d.downtime.buckets[i]));
  h.samples.push_back(fmt::format("uldd_recovery_downtime_seconds_bucket{{{},le=\"+Inf\"}} {}",
                                  labels, d.downtime.count));
  h.samples.push_back(
      fmt::format("uldd_recovery_downtime_seconds_count{{{}}} {}", labels, d.downtime.count));
  h.samples.push_back(fmt::format("uldd_recovery_downtime_seconds_sum{{{}}} {}", labels,
                                  openmetrics_float(static_cast<double>(d.downtime.sum_us) / 1e6)));
  x.family("uldd_recovery_downtime_last_seconds", "gauge", "Downtime of the last recovery",
           "seconds")
      .samples.push_back(
          fmt::format("uldd_recovery_downtime_last_seconds{{{}}} {}", labels,
                      openmetrics_float(static_cast<double>(d.downtime.last_us) / 1e6)));
  x.family("uldd_recovery_downtime_max_seconds", "gauge", "Longest recovery downtime", "seconds")
      .samples.push_back(
          fmt::format("uldd_recovery_downtime_max_seconds{{{}}} {}", labels,
                      openmetrics_float(static_cast<double>(d.downtime.max_us) / 1e6)));

  for (const auto& [key, value] : d.io) {
    std::string name = "uldd_io_" + name_part(key);
    std::string unit = key.ends_with("_bytes") ? "bytes" : "";
    if (is_level(key)) {
      x.family(name, "gauge", "I/O level " + key, unit)
          .samples.push_back(fmt::format("{}{{{}}} {}", name, labels, value));
    } else {
      x.family(name, "counter", "I/O counter " + key, unit)
          .samples.push_back(fmt::format("{}_total{{{}}} {}", name, labels, value));
    }
  }
}

}  // namespace

std::string openmetrics_float(double value) {
  std::string s = fmt::format("{}", value);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // "1" -> "1.0"; not inf/nan
  return s;
}

std::string render_openmetrics(const std::vector<DeviceSnapshot>& devices) {
  Exposition x;
  for (const auto& d : devices) add_device(x, d);
  return x.text();
}

}  // namespace uldd::supervisor::metrics
