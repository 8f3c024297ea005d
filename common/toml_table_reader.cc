// Typed reads of one TOML table (see toml_table_reader.h).
#include "common/toml_table_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <sstream>
#include <vector>

#include "common/unique_fd.h"

namespace uldd {
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

// True when `longer` is `shorter` followed by "_...": the unit or qualifier
// suffix people add ("size_bytes") or leave off ("itr" for "itr_us").
bool extends_with_suffix(std::string_view longer, std::string_view shorter) {
  return longer.size() > shorter.size() && longer.starts_with(shorter) &&
         longer[shorter.size()] == '_';
}

std::string_view type_name(toml::node_type t) {
  constexpr std::array<std::string_view, 10> kNames = {
      "nothing", "a table",   "an array", "a string", "an integer",
      "a float", "a boolean", "a date",   "a time",   "a date-time"};
  auto i = static_cast<size_t>(t);
  return i < kNames.size() ? kNames[i] : "a value";
}

}  // namespace

std::string_view nearest_key(std::string_view unknown, TomlKeyList known) {
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, unknown.size() / 3) + 1;
  for (std::string_view k : known) {
    size_t d = edit_distance(unknown, k);
    if (extends_with_suffix(unknown, k) || extends_with_suffix(k, unknown)) d = 1;
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view unknown, TomlKeyList known) {
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

std::optional<uint64_t> parse_size_string(std::string_view s, std::string* why) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    uint64_t digit = static_cast<uint64_t>(s[i++] - '0');
    if (n > (UINT64_MAX - digit) / 10) return *why = "is too large", std::nullopt;
    n = n * 10 + digit;
  }
  if (i == 0) return *why = "is not a size (expected e.g. \"256MiB\")", std::nullopt;
  std::string_view unit = s.substr(i);
  if (unit.starts_with(' ')) unit.remove_prefix(1);
  static constexpr std::array<std::pair<std::string_view, int>, 6> kUnits = {
      {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}}};
  for (auto [name, shift] : kUnits) {
    if (unit != name) continue;
    if (shift > 0 && n > (UINT64_MAX >> shift)) return *why = "is too large", std::nullopt;
    return n << shift;
  }
  *why = "has unknown unit '" + std::string(unit) + "' (use B, KiB, MiB, GiB or TiB)";
  return std::nullopt;
}

Result<std::string> read_toml_text(const std::filesystem::path& path, size_t max_mib) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(path.string() + ": cannot read");
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path.string() + ": cannot read");
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (max_mib << 20))
      return plain_error(path.string() + ": larger than " + std::to_string(max_mib) + " MiB");
  }
}

Error TomlTableReader::error_at(const toml::source_region& region,
                                const std::string& reason) const {
  return located_error(source_, region, reason);
}

Error TomlTableReader::error(std::string_view key, const std::string& reason) const {
  const toml::node* n = table_.get(key);
  return error_at(n != nullptr ? n->source() : table_.source(), reason);
}

Error TomlTableReader::invalid(std::string_view key, const std::string& why) const {
  return error(key, "'" + std::string(key) + "' = " + shown(key) + " " + why);
}

std::string TomlTableReader::position(std::string_view key) const {
  const toml::node* n = table_.get(key);
  const toml::source_position& p = (n != nullptr ? n->source() : table_.source()).begin;
  if (p.line == 0) return "1:1";
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}

Status TomlTableReader::check_keys(TomlKeyList known) const {
  for (auto&& [key, value] : table_) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    return error_at(key.source(), "unknown key '" + std::string(key.str()) + "' in " +
                                      (where_.empty() ? "the top level" : where_) +
                                      did_you_mean(key.str(), known));
  }
  return {};
}

Status TomlTableReader::read_string(std::string_view key, std::string& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  if (!n->is_string()) return wrong_type(key, "a string");
  out = n->as_string()->get();
  return {};
}

Status TomlTableReader::read_bool(std::string_view key, bool& out) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  if (!n->is_boolean()) return wrong_type(key, "a boolean (true or false)");
  out = n->as_boolean()->get();
  return {};
}

Status TomlTableReader::read_uint(std::string_view key, uint32_t lo, uint32_t hi,
                                  uint32_t& out) const {
  uint64_t v = out;
  ULDD_TRY(read_uint64(key, lo, hi, v, /*sizes=*/false));
  out = static_cast<uint32_t>(v);
  return {};
}

Status TomlTableReader::read_uint64(std::string_view key, uint64_t lo, uint64_t hi, uint64_t& out,
                                    bool sizes) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return {};
  auto out_of_range = [&] {
    return invalid(key, "is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  };
  uint64_t v = 0;
  if (n->is_integer()) {
    int64_t i = n->as_integer()->get();
    if (i < 0) return out_of_range();  // says which values would do
    v = static_cast<uint64_t>(i);
  } else if (sizes && n->is_string()) {
    std::string why;
    auto parsed = parse_size_string(n->as_string()->get(), &why);
    if (!parsed) return invalid(key, why);
    v = *parsed;
  } else {
    return wrong_type(key, sizes ? "an integer or a size string" : "an integer");
  }
  if (v < lo || v > hi) return out_of_range();
  out = v;
  return {};
}

Status TomlTableReader::read_double(std::string_view key, double lo, double hi, double& out) const {
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

Status TomlTableReader::read_path(std::string_view key, const std::filesystem::path& base,
                                  std::filesystem::path& out) const {
  std::string s;
  if (!has(key)) return {};
  ULDD_TRY(read_string(key, s));
  if (s.find('\0') != std::string::npos) return error(key, "'" + std::string(key) + "' has a NUL");
  out = s.empty() ? std::filesystem::path() : (base / s).lexically_normal();
  return {};
}

Error TomlTableReader::wrong_type(std::string_view key, std::string_view want) const {
  const toml::node* n = table_.get(key);
  std::string in =
      naming_ == TypeErrorNaming::kKeyAndTable && !where_.empty() ? " in " + where_ : "";
  return error(key, "'" + std::string(key) + "'" + in + " must be " + std::string(want) + ", not " +
                        std::string(type_name(n != nullptr ? n->type() : toml::node_type::none)));
}

std::string TomlTableReader::shown(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return "(default)";
  if (n->is_string()) return "\"" + n->as_string()->get() + "\"";
  std::ostringstream s;
  if (n->is_integer()) s << n->as_integer()->get();
  if (n->is_floating_point()) s << n->as_floating_point()->get();
  if (n->is_boolean()) s << (n->as_boolean()->get() ? "true" : "false");
  return s.str();
}

}  // namespace uldd
