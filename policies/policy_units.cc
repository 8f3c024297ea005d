// Unit parsing for policy files (see policy_units.h). Pure functions, no
// locale: "250ms" means the same on every host.
#include "policies/policy_units.h"

#include <array>
#include <utility>

#include "common/toml_table_reader.h"

namespace uldd::policies {
namespace {

// Leading decimal digits of `text` into `n`; returns how many there were, or
// nullopt on overflow past `limit`.
std::optional<size_t> leading_number(std::string_view text, uint64_t limit, uint64_t* n) {
  size_t i = 0;
  *n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (*n > (limit - digit) / 10) return std::nullopt;
    *n = *n * 10 + digit;
    ++i;
  }
  return i;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why) {
  // 2^40 ms is about 35 years: any longer is a typo, and the bound keeps every
  // later multiplication (backoff) far from int64 overflow.
  constexpr uint64_t kLimitMs = uint64_t{1} << 40;
  uint64_t n = 0;
  auto digits = leading_number(text, kLimitMs, &n);
  if (!digits) return *why = "is too long", std::nullopt;
  if (*digits == 0) {
    *why =
        "is not a duration (expected a whole number and a unit: \"250ms\", \"2s\", \"1m\", \"1h\")";
    return std::nullopt;
  }
  std::string_view unit = text.substr(*digits);
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 4> kUnits = {
      {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
  for (auto [name, scale] : kUnits) {
    if (unit != name) continue;
    if (n > kLimitMs / scale) return *why = "is too long", std::nullopt;
    return std::chrono::milliseconds(static_cast<int64_t>(n * scale));
  }
  if (unit.empty()) {
    *why = "has no unit (write \"" + std::string(text) + "ms\" or \"" + std::string(text) + "s\")";
  } else if (unit.starts_with('.')) {
    *why = "has a fraction (write whole milliseconds, e.g. \"1500ms\")";
  } else {
    *why = "has unknown unit '" + std::string(unit) + "' (use ms, s, m or h)";
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// The supervisor configuration's size strings: one spelling in both files.
std::optional<uint64_t> parse_size(std::string_view text, std::string* why) {
  return parse_size_string(text, why);
}

std::optional<uint32_t> parse_percent(std::string_view text, std::string* why) {
  uint64_t n = 0;
  auto digits = leading_number(text, UINT32_MAX, &n);
  if (!digits) return *why = "is too large", std::nullopt;
  if (*digits == 0 || text.substr(*digits) != "%") {
    *why = "is not a percentage (expected e.g. \"50%\"; 100% is one whole CPU)";
    return std::nullopt;
  }
  return static_cast<uint32_t>(n);
}

}  // namespace uldd::policies
