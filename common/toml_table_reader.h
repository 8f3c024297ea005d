// TomlTableReader: typed, validated reads of the keys of one TOML table, with
// every failure reported as "source:line:column: reason" at the offending value
// (or key, for an unknown key), and a did-you-mean for a misspelt key. The
// supervisor configuration ([supervisor], [[disk]], [[nic]]) and the restart
// policy files (policies/policy_table_reader.h adds their units) both read
// TOML this way, so a mistake is reported the same way in either file.
//
// Reading a key that is absent leaves `out` untouched: the caller's default
// stands. toml++ node positions are 1-based; a table that was not written in
// the file (no position) reports at 1:1. parse_toml and read_toml_text below
// load such a file; nothing here lets an exception escape.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace uldd {

using TomlKeyList = std::span<const std::string_view>;

// The entry of `known` that `unknown` is a near miss of, else "". A near miss
// is within a third of the length (at least 2 edits), or a known key the typo
// extends with "_..." ("memory_bytes" -> "memory"), or a known key the typo is
// missing its "_suffix" from ("itr" -> "itr_us").
std::string_view nearest_key(std::string_view unknown, TomlKeyList known);
// " (did you mean 'x'?)" for a near miss, else "".
std::string did_you_mean(std::string_view unknown, TomlKeyList known);

// "source:line:column: reason" at `region` (1:1 when toml++ has no position).
Error located_error(const std::string& source, const toml::source_region& region,
                    const std::string& reason);

class TomlTableReader {
 public:
  // How a wrong-type message names the key. Policy files say "'delay' in
  // [restart] must be ...", the supervisor configuration "'mode' must be ...";
  // both wordings are pinned by their tests.
  enum class TypeErrorNaming { kKeyOnly, kKeyAndTable };

  // `where` names the table in messages: "[backoff]", "[[disk]]"; "" for the
  // top level. `source` and `table` must outlive the reader.
  TomlTableReader(const std::string& source, const toml::table& table, std::string where,
                  TypeErrorNaming naming = TypeErrorNaming::kKeyOnly)
      : source_(source), table_(table), where_(std::move(where)), naming_(naming) {}

  bool has(std::string_view key) const { return table_.get(key) != nullptr; }
  const toml::node* get(std::string_view key) const { return table_.get(key); }

  // At the key's value when present, else at the table.
  Error error(std::string_view key, const std::string& reason) const;
  Error error_at(const toml::source_region& region, const std::string& reason) const;
  // "'key' = <as written> <why>".
  Error invalid(std::string_view key, const std::string& why) const;
  // "line:column" of the key's value (of the table when absent), for messages
  // that point back at an earlier entry.
  std::string position(std::string_view key) const;

  // Every key of the table must be in `known`.
  Status check_keys(TomlKeyList known) const;

  Status read_string(std::string_view key, std::string& out) const;
  Status read_bool(std::string_view key, bool& out) const;
  Status read_uint(std::string_view key, uint32_t lo, uint32_t hi, uint32_t& out) const;
  // An integer, or with `sizes` also a size string ("256MiB"); in [lo, hi].
  Status read_uint64(std::string_view key, uint64_t lo, uint64_t hi, uint64_t& out,
                     bool sizes) const;
  // A float or an integer, in [lo, hi].
  Status read_double(std::string_view key, double lo, double hi, double& out) const;
  // A path; relative ones are taken relative to `base`. "" stays "" (= off).
  Status read_path(std::string_view key, const std::filesystem::path& base,
                   std::filesystem::path& out) const;

  // "'key' [in where] must be <want>, not <type of the value>".
  Error wrong_type(std::string_view key, std::string_view want) const;
  // The value as written, for messages: "\"2x\"", "-3", "1.5".
  std::string shown(std::string_view key) const;

 private:
  const std::string& source_;
  const toml::table& table_;
  std::string where_;
  TypeErrorNaming naming_;
};

// toml::parse without exceptions escaping: runs `build` on the parsed root and
// turns toml++'s parse_error into "source:line:column: reason" (and any other
// exception, e.g. std::bad_alloc, into "source: what"). toml++ is packaged
// with exceptions on, so this is the one place they are caught.
template <class Build>
auto parse_toml(std::string_view text, const std::string& source, Build build)
    -> decltype(build(std::declval<const toml::table&>())) {
  try {
    toml::table root = toml::parse(text, source);
    return build(std::as_const(root));
  } catch (const toml::parse_error& e) {
    return located_error(source, e.source(), std::string(e.description()));
  } catch (const std::exception& e) {
    return plain_error(source + ": " + e.what());
  }
}

// The whole text of a configuration or policy file; refused past `max_mib`
// MiB, since these are small hand-written files and reading is unbounded.
Result<std::string> read_toml_text(const std::filesystem::path& path, size_t max_mib);

// "256MiB" -> 268435456, else nullopt and `why` says what is wrong. Binary
// units only (B, KiB, MiB, GiB, TiB): "MB" is refused rather than guessed at.
std::optional<uint64_t> parse_size_string(std::string_view s, std::string* why);

}  // namespace uldd
