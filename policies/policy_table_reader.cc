// Typed reads of one table of a policy file (see policy_table_reader.h).
#include "policies/policy_table_reader.h"

#include <optional>

#include "policies/policy_units.h"

namespace uldd::policies {

Status PolicyTableReader::read_duration(std::string_view key, std::chrono::milliseconds lo,
                                        std::chrono::milliseconds hi,
                                        std::chrono::milliseconds& out) const {
  const toml::node* n = get(key);
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
  const toml::node* n = get(key);
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
  const toml::node* n = get(key);
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

}  // namespace uldd::policies
