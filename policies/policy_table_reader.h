// PolicyTableReader: the reads only a policy file has -- durations ("250ms"),
// sizes or "none", percentages or "none", and enum choices -- on top of the
// generic TomlTableReader (common/toml_table_reader.h), which gives the
// "source:line:column: reason" errors, key checks and plain typed reads. It is
// the one place that knows how a policy file spells these, so every section of
// the parser reports the same mistake the same way.
//
// Reading a key that is absent leaves `out` untouched: the caller's default
// stands.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "common/toml_table_reader.h"

namespace uldd::policies {

using KeyList = TomlKeyList;

class PolicyTableReader : public TomlTableReader {
 public:
  // `where` names the table in messages: "[backoff]"; "" for the top level.
  PolicyTableReader(const std::string& source, const toml::table& table, std::string where)
      : TomlTableReader(source, table, std::move(where), TypeErrorNaming::kKeyAndTable) {}

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
};

}  // namespace uldd::policies
