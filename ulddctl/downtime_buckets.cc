#include "ulddctl/downtime_buckets.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace uldd::ctl {
namespace {

// The value of label `key` in `labels` (`a="x",b="y"`), or "" if absent.
std::string_view label_value(std::string_view labels, std::string_view key) {
  size_t pos = 0;
  while (pos < labels.size()) {
    size_t eq = labels.find("=\"", pos);
    if (eq == std::string_view::npos) return {};
    size_t end = labels.find('"', eq + 2);
    if (end == std::string_view::npos) return {};
    std::string_view name = labels.substr(pos, eq - pos);
    if (name == key) return labels.substr(eq + 2, end - eq - 2);
    pos = end + 1;
    if (pos < labels.size() && labels[pos] == ',') ++pos;
  }
  return {};
}

double unit_to_us(std::string_view family) {
  if (family.find("_seconds") != std::string_view::npos) return 1e6;
  if (family.find("_milliseconds") != std::string_view::npos ||
      family.find("_ms") != std::string_view::npos)
    return 1e3;
  return 1.0;
}

}  // namespace

bool read_downtime_buckets(std::string_view text, std::string_view device,
                           supervisor::DowntimeHistogram* histogram) {
  bool found = false;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.empty() || line[0] == '#') continue;
    size_t open = line.find('{');
    size_t close = line.find('}');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) continue;
    std::string_view family = line.substr(0, open);
    if (family.find("downtime") == std::string_view::npos || !family.ends_with("_bucket")) continue;
    std::string_view labels = line.substr(open + 1, close - open - 1);
    if (label_value(labels, "device") != device) continue;
    std::string le(label_value(labels, "le"));
    if (le.empty() || le == "+Inf") continue;
    const double le_us = std::strtod(le.c_str(), nullptr) * unit_to_us(family);
    const std::string value(line.substr(close + 1));
    const double count = std::strtod(value.c_str(), nullptr);
    for (size_t i = 0; i < supervisor::kDowntimeBucketsUs.size(); ++i) {
      const double bound = static_cast<double>(supervisor::kDowntimeBucketsUs[i]);
      if (std::fabs(le_us - bound) <= bound * 0.001) {
        histogram->buckets[i] = static_cast<uint64_t>(count);
        found = true;
      }
    }
  }
  return found;
}

}  // namespace uldd::ctl
