// Typed reads of one table of a policy file (see policy_table_reader.h).
#include "policies/policy_table_reader.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <vector>

#include "policies/policy_units.h"

namespace uldd::policies {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string_view type_name(toml::node_type t) {
  constexpr std::array<std::string_view, 10> kNames = {
      "nothing", "a table",   "an array", "a string", "an integer",
      "a float", "a boolean", "a date",   "a time",   "a date-time"};
  auto i = static_cast<size_t>(t);
  return i < kNames.size() ? kNames[i] : "a value";
}

}  // namespace

// Same rule as the supervisor configuration: within a third of the length (at
// least 2 edits), and a known key that the typo merely extends with "_..."
// ("memory_bytes" -> "memory") counts as a near miss.
std::string_view nearest_key(std::string_view unknown, KeyList known) {
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, unknown.size() / 3) + 1;
  for (std::string_view k : known) {
    size_t d = edit_distance(unknown, k);
    if (unknown.size() > k.size() && unknown.starts_with(k) && unknown[k.size()] == '_') d = 1;
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view unknown, KeyList known) {
  std::string_view best = nearest_key(unknown, known);
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

Error located_error(const std::string& source, const toml::source_region& region,
                    const std::string& reason) {
  uint32_t line = region.begin.line == 0 ? 1 : region.begin.line;
  uint32_t column = region.begin.line == 0 ? 1 : region.begin.column;
  return plain_error(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                     reason);
}

Error PolicyTableReader::error(std::string_view key, const std::string& reason) const {
  const toml::node* n = table_.get(key);
  return located_error(source_, n != nullptr ? n->source() : table_.source(), reason);
}

Error PolicyTableReader::invalid(std::string_view key, const std::string& why) const {
  return error(key, "'" + std::string(key) + "' = " + shown(key) + " " + why);
}

Status PolicyTableReader::check_keys(KeyList known) const {
  for (auto&& [key, value] : table_) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    return located_error(source_, key.source(),
                         "unknown key '" + std::string(key.str()) + "' in " +
                             (where_.empty() ? "the top level" : where_) +
                             did_you_mean(key.str(), known));
  }
  return {};
}

Status PolicyTableReader::read_string(std::string_view key, std::string& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  if (!n->is_string()) return wrong_type(key, "a string");
  out = n->as_string()->get();
  return {};
}

Status PolicyTableReader::read_bool(std::string_view key, bool& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  if (!n->is_boolean()) return wrong_type(key, "a boolean (true or false)");
  out = n->as_boolean()->get();
  return {};
}

Status PolicyTableReader::read_uint(std::string_view key, uint32_t lo, uint32_t hi,
                                    uint32_t& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  if (!n->is_integer()) return wrong_type(key, "an integer");
  int64_t v = n->as_integer()->get();
  if (v < lo || v > hi)
    return invalid(key, "is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  out = static_cast<uint32_t>(v);
  return {};
}

Status PolicyTableReader::read_double(std::string_view key, double lo, double hi,
                                      double& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  double v = 0;
  if (n->is_floating_point()) {
    v = n->as_floating_point()->get();
  } else if (n->is_integer()) {
    v = static_cast<double>(n->as_integer()->get());
  } else {
    return wrong_type(key, "a number");
  }
  if (!(v >= lo && v <= hi)) {  // also refuses nan
    std::ostringstream range;
    range << "is out of range " << lo << ".." << hi;
    return invalid(key, range.str());
  }
  out = v;
  return {};
}

Status PolicyTableReader::read_duration(std::string_view key, std::chrono::milliseconds lo,
                                        std::chrono::milliseconds hi,
                                        std::chrono::milliseconds& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  if (!n->is_string()) return wrong_type(key, "a duration string such as \"250ms\" or \"2s\"");
  std::string why;
  auto d = parse_duration(n->as_string()->get(), &why);
  if (!d) return invalid(key, why);
  if (*d < lo || *d > hi)
    return invalid(key, "is out of range " + format_duration(lo) + ".." + format_duration(hi));
  out = *d;
  return {};
}

Status PolicyTableReader::read_size_or_none(std::string_view key, uint64_t lo, uint64_t hi,
                                            uint64_t& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  uint64_t v = 0;
  if (n->is_integer()) {
    int64_t i = n->as_integer()->get();
    if (i < 0) return invalid(key, "must not be negative");
    v = static_cast<uint64_t>(i);
  } else if (n->is_string()) {
    const std::string& s = n->as_string()->get();
    std::string why;
    auto parsed = s == "none" ? std::optional<uint64_t>(0) : parse_size(s, &why);
    if (!parsed) return invalid(key, why);
    v = *parsed;
  } else {
    return wrong_type(key, "a size string such as \"256MiB\", a byte count, or \"none\"");
  }
  if (v != 0 && (v < lo || v > hi))
    return invalid(key, "is out of range " + std::to_string(lo >> 20) + "MiB.." +
                            std::to_string(hi >> 20) + "MiB (or \"none\")");
  out = v;
  return {};
}

Status PolicyTableReader::read_percent_or_none(std::string_view key, uint32_t lo, uint32_t hi,
                                               uint32_t& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  if (!n->is_string()) return wrong_type(key, "a percentage string such as \"50%\", or \"none\"");
  const std::string& s = n->as_string()->get();
  if (s == "none") return out = 0, Status{};
  std::string why;
  auto p = parse_percent(s, &why);
  if (!p) return invalid(key, why);
  if (*p < lo || *p > hi)
    return invalid(key, "is out of range " + std::to_string(lo) + "%.." + std::to_string(hi) + "%");
  out = *p;
  return {};
}

Error PolicyTableReader::wrong_type(std::string_view key, std::string_view want) const {
  const toml::node* n = table_.get(key);
  std::string in = where_.empty() ? "" : " in " + where_;
  return error(key, "'" + std::string(key) + "'" + in + " must be " + std::string(want) + ", not " +
                        std::string(type_name(n->type())));
}

std::string PolicyTableReader::shown(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return "(default)";
  if (n->is_string()) return "\"" + n->as_string()->get() + "\"";
  std::ostringstream s;
  if (n->is_integer()) s << n->as_integer()->get();
  if (n->is_floating_point()) s << n->as_floating_point()->get();
  if (n->is_boolean()) s << (n->as_boolean()->get() ? "true" : "false");
  return s.str();
}

}  // namespace uldd::policies
