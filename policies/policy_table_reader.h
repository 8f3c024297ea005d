// PolicyTableReader: typed, validated reads of the keys of one TOML table of a
// policy file, with every failure reported as "source:line:column: reason" at
// the offending value (or key, for an unknown key). It is the one place that
// knows how a policy file spells durations, sizes, percentages and choices, so
// every section of the parser reports the same mistake the same way.
//
// Reading a key that is absent leaves `out` untouched: the caller's default
// stands. toml++ node positions are 1-based; a table that was not written in
// the file reports at 1:1.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace uldd::policies {

using KeyList = std::span<const std::string_view>;

// The entry of `known` that `unknown` is a near miss of, else "".
std::string_view nearest_key(std::string_view unknown, KeyList known);
// " (did you mean 'x'?)" for a near miss, else "".
std::string did_you_mean(std::string_view unknown, KeyList known);

// "source:line:column: reason" at `region` (1:1 when toml++ has no position).
Error located_error(const std::string& source, const toml::source_region& region,
                    const std::string& reason);

class PolicyTableReader {
 public:
  // `where` names the table in messages: "[backoff]"; "" for the top level.
  PolicyTableReader(const std::string& source, const toml::table& table, std::string where)
      : source_(source), table_(table), where_(std::move(where)) {}

  bool has(std::string_view key) const { return table_.get(key) != nullptr; }
  // At the key's value when present, else at the table.
  Error error(std::string_view key, const std::string& reason) const;
  // "'key' = <as written> <why>".
  Error invalid(std::string_view key, const std::string& why) const;

  // Every key of the table must be in `known`.
  Status check_keys(KeyList known) const;

  Status read_string(std::string_view key, std::string& out) const;
  Status read_bool(std::string_view key, bool& out) const;
  Status read_uint(std::string_view key, uint32_t lo, uint32_t hi, uint32_t& out) const;
  // A float or an integer, in [lo, hi].
  Status read_double(std::string_view key, double lo, double hi, double& out) const;
  // A duration string ("250ms"), in [lo, hi].
  Status read_duration(std::string_view key, std::chrono::milliseconds lo,
                       std::chrono::milliseconds hi, std::chrono::milliseconds& out) const;
  // "none" or 0 (-> 0), else a byte count or size string in [lo, hi].
  Status read_size_or_none(std::string_view key, uint64_t lo, uint64_t hi, uint64_t& out) const;
  // "none" (-> 0), else "N%" with N in [lo, hi].
  Status read_percent_or_none(std::string_view key, uint32_t lo, uint32_t hi, uint32_t& out) const;

  // One of the spellings to_string() gives the enum values in `choices`.
  template <class Enum, size_t N>
  Status read_choice(std::string_view key, const Enum (&choices)[N], Enum& out) const {
    std::string text;
    if (!has(key)) return {};
    ULDD_TRY(read_string(key, text));
    for (Enum e : choices) {
      if (to_string(e) == text) return out = e, Status{};
    }
    std::string list;
    for (size_t i = 0; i < N; ++i) {
      list += (i == 0 ? "" : i + 1 == N ? " or " : ", ");
      list += "\"" + std::string(to_string(choices[i])) + "\"";
    }
    return error(key, "'" + std::string(key) + "' = \"" + text + "\" is not " + list);
  }

 private:
  Error wrong_type(std::string_view key, std::string_view want) const;
  // The value as written, for messages: "\"2x\"", "-3", "1.5".
  std::string shown(std::string_view key) const;

  const std::string& source_;
  const toml::table& table_;
  std::string where_;
};

}  // namespace uldd::policies
