#include "supervisor/systemd/status_summary.h"

#include <fmt/format.h>

namespace uldd::supervisor::systemd {
namespace {

// systemctl shows STATUS= on one terminal line; a long fault text (a
// seccomp violation names the syscall, a policy the whole history) would
// push the other devices off it.
constexpr size_t kMaxFaultChars = 80;

std::string shortened(const std::string& text) {
  if (text.size() <= kMaxFaultChars) return text;
  return text.substr(0, kMaxFaultChars - 3) + "...";
}

}  // namespace

std::string status_summary(const std::vector<DeviceSnapshot>& devices) {
  if (devices.empty()) return "no devices configured";
  size_t serving = 0;
  for (const auto& d : devices)
    if (d.state == "serving") ++serving;
  std::string line = fmt::format("{}/{} device{} serving", serving, devices.size(),
                                 devices.size() == 1 ? "" : "s");
  for (const auto& d : devices) {
    line += fmt::format("; {} {}", d.name, d.state);
    if (d.restarts > 0)
      line += fmt::format(", {} restart{}", d.restarts, d.restarts == 1 ? "" : "s");
    if (d.state == "failed" && !d.last_fault.empty()) line += ": " + shortened(d.last_fault);
  }
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

}  // namespace uldd::supervisor::systemd
