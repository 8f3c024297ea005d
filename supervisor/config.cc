// parse_config: TOML text -> SupervisorConfig, or the first thing wrong with it
// as "source:line:column: reason".
//
// toml++ is built with exceptions (the packaged shared library is), so its
// parse_error is caught here and nowhere else; nothing leaves parse_config by
// throwing. Validation is strict on purpose: an unknown key is an error with a
// spelling suggestion, because a silently ignored "queue_dept" is a
// misconfigured production disk.
#include "supervisor/config.h"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <optional>
#include <span>

#include "abi/ring_region.h"
#include "common/unique_fd.h"
#include "supervisor/nic_config.h"

namespace uldd::supervisor {
namespace {

namespace fs = std::filesystem;
using Keys = std::span<const std::string_view>;

constexpr std::array<std::string_view, 5> kSupervisorKeys = {"runtime_dir", "log_level", "status_interval_ms",
                                                             "driver_user", "policy_dir"};
// clang-format off
constexpr std::array<std::string_view, 18> kDiskKeys = {
    "name", "mode", "uio", "backing_file", "size", "model_latency_us", "model_max_iops", "io_queues",
    "queue_depth", "ring_capacity", "max_transfer", "buffers", "irq_coalesce_threshold",
    "irq_coalesce_time_us", "policy", "driver", "fuse_path", "nbd_socket"};
// clang-format on

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxTransferLimit = 2ull << 20;  // what one PRP list page (512 x 4 KiB) maps
constexpr uint64_t kMaxBufferBytes = 1ull << 30;    // DMA buffers must stay pinnable

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

// " (did you mean 'x'?)" for a near miss, else "". A known key that the typo
// merely extends ("size_bytes" -> "size") counts as a near miss too.
std::string suggestion(std::string_view unknown, Keys known) {
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
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

std::string_view type_name(toml::node_type t) {
  constexpr std::array<std::string_view, 10> kNames = {
      "nothing", "a table",   "an array", "a string", "an integer",
      "a float", "a boolean", "a date",   "a time",   "a date-time"};
  auto i = static_cast<size_t>(t);
  return i < kNames.size() ? kNames[i] : "a value";
}

bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// "256MiB" -> 268435456. Only binary units: "MB" is refused rather than
// guessed at, since 10^6 and 2^20 both have their believers.
std::optional<uint64_t> parse_size_string(std::string_view s, std::string* why) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > (UINT64_MAX - 9) / 10) return *why = "is too large", std::nullopt;
    n = n * 10 + static_cast<uint64_t>(s[i++] - '0');
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

// Reads the keys of one TOML table and reports errors at the offending key's
// value (or at the table itself when the key is absent and a default failed).
class TableReader {
 public:
  TableReader(const std::string& source, const toml::table& table, std::string where)
      : source_(source), table_(table), where_(std::move(where)) {}

  Error error_at(const toml::source_region& r, const std::string& reason) const {
    return plain_error(source_ + ":" + std::to_string(r.begin.line) + ":" +
                       std::to_string(r.begin.column) + ": " + reason);
  }
  Error error(std::string_view key, const std::string& reason) const {
    const toml::node* n = table_.get(key);
    return error_at(n != nullptr ? n->source() : table_.source(), reason);
  }
  // "'key' = value why", at the key's value.
  Error invalid(std::string_view key, uint64_t value, std::string_view why) const {
    return error(key,
                 "'" + std::string(key) + "' = " + std::to_string(value) + " " + std::string(why));
  }
  const toml::node* get(std::string_view key) const { return table_.get(key); }
  std::string position(std::string_view key) const {
    const toml::source_region& r = table_.get(key)->source();
    return std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }

  Status check_keys(Keys known) const {
    for (auto&& [key, value] : table_) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      return error_at(key.source(), "unknown key '" + std::string(key.str()) + "' in " + where_ +
                                        suggestion(key.str(), known));
    }
    return {};
  }

  Status read_string(std::string_view key, std::string& out) const {
    const toml::node* n = get(key);
    if (n == nullptr) return {};
    if (!n->is_string()) return wrong_type(key, *n, "a string");
    out = n->as_string()->get();
    return {};
  }

  Status read_uint(std::string_view key, uint64_t lo, uint64_t hi, uint32_t& out) const {
    uint64_t v = out;
    ULDD_TRY(read_uint64(key, lo, hi, v, /*sizes=*/false));
    out = static_cast<uint32_t>(v);
    return {};
  }

  // An integer, or with `sizes` also a string such as "256MiB"; in [lo, hi].
  Status read_uint64(std::string_view key, uint64_t lo, uint64_t hi, uint64_t& out,
                     bool sizes) const {
    const toml::node* n = get(key);
    if (n == nullptr) return {};
    uint64_t v = 0;
    std::string shown;
    if (n->is_integer()) {
      int64_t i = n->as_integer()->get();
      if (i < 0) return error(key, "'" + std::string(key) + "' must not be negative");
      v = static_cast<uint64_t>(i);
      shown = std::to_string(i);
    } else if (sizes && n->is_string()) {
      std::string why;
      const std::string& s = n->as_string()->get();
      auto parsed = parse_size_string(s, &why);
      if (!parsed) return error(key, "'" + std::string(key) + "' = \"" + s + "\" " + why);
      v = *parsed;
      shown = "\"" + s + "\"";
    } else {
      return wrong_type(key, *n, sizes ? "an integer or a size string" : "an integer");
    }
    if (v < lo || v > hi)
      return error(key, "'" + std::string(key) + "' = " + shown + " is out of range " +
                            std::to_string(lo) + ".." + std::to_string(hi));
    out = v;
    return {};
  }

  // A path; relative ones are taken relative to `base`. "" stays "" (= off).
  Status read_path(std::string_view key, const fs::path& base, fs::path& out) const {
    std::string s;
    ULDD_TRY(read_string(key, s));
    if (get(key) == nullptr) return {};
    if (s.find('\0') != std::string::npos)
      return error(key, "'" + std::string(key) + "' has a NUL");
    out = s.empty() ? fs::path() : (base / s).lexically_normal();
    return {};
  }

 private:
  Error wrong_type(std::string_view key, const toml::node& n, std::string_view want) const {
    return error(key, "'" + std::string(key) + "' must be " + std::string(want) + ", not " +
                          std::string(type_name(n.type())));
  }

  const std::string& source_;
  const toml::table& table_;
  std::string where_;
};

bool valid_disk_name(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// "kernel:" followed by a PCI address dddd:bb:dd.f in lower-case hex.
bool valid_uio(const std::string& s) {
  if (s == "emulated") return true;
  if (!s.starts_with("kernel:")) return false;
  std::string_view bdf = std::string_view(s).substr(7);
  constexpr std::string_view kShape = "hhhh:hh:hh.f";
  if (bdf.size() != kShape.size()) return false;
  for (size_t i = 0; i < bdf.size(); ++i) {
    char c = bdf[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (kShape[i] == 'h' && !hex) return false;
    if (kShape[i] == 'f' && (c < '0' || c > '7')) return false;
    if ((kShape[i] == ':' || kShape[i] == '.') && c != kShape[i]) return false;
  }
  return true;
}

Status parse_supervisor(const std::string& source, const toml::table& t, SupervisorConfig& c) {
  TableReader r(source, t, "[supervisor]");
  ULDD_TRY(r.check_keys(kSupervisorKeys));
  std::string dir = c.runtime_dir.string();
  ULDD_TRY(r.read_string("runtime_dir", dir));
  if (dir.empty() || dir.front() != '/')
    return r.error("runtime_dir", "'runtime_dir' must be an absolute path");
  c.runtime_dir = fs::path(dir).lexically_normal();
  ULDD_TRY(r.read_string("log_level", c.log_level));
  constexpr std::array<std::string_view, 5> kLevels = {"trace", "debug", "info", "warn", "error"};
  if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end())
    return r.error("log_level", "'log_level' = \"" + c.log_level +
                                    "\" is not one of trace, debug, info, warn, error");
  ULDD_TRY(r.read_uint("status_interval_ms", 0, 86'400'000, c.status_interval_ms));
  ULDD_TRY(r.read_string("driver_user", c.driver_user));
  bool user_ok = c.driver_user.size() <= 32 &&
                 std::all_of(c.driver_user.begin(), c.driver_user.end(), [](char ch) {
                   return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                          ch == '-' || ch == '.';
                 });
  if (!user_ok) return r.error("driver_user", "'driver_user' is not a valid user name");
  std::string policy_dir = c.policy_dir.string();
  ULDD_TRY(r.read_string("policy_dir", policy_dir));
  if (policy_dir.empty() || policy_dir.front() != '/')
    return r.error("policy_dir", "'policy_dir' must be an absolute path");
  c.policy_dir = fs::path(policy_dir).lexically_normal();
  return {};
}

Status parse_disk(const TableReader& r, const fs::path& runtime_dir, DiskDeviceConfig& d) {
  ULDD_TRY(r.check_keys(kDiskKeys));
  if (r.get("name") == nullptr) return r.error("name", "[[disk]] has no 'name'");
  ULDD_TRY(r.read_string("name", d.name));
  if (!valid_disk_name(d.name))
    return r.error("name", "disk name '" + d.name + "' does not match [a-z0-9_-]{1,15}");

  std::string mode = "isolated";
  ULDD_TRY(r.read_string("mode", mode));
  if (mode == "isolated") {
    d.mode = DriverMode::kIsolated;
  } else if (mode == "colocated") {
    d.mode = DriverMode::kColocated;
  } else {
    return r.error("mode", "'mode' = \"" + mode + "\" is not \"isolated\" or \"colocated\"");
  }
  ULDD_TRY(r.read_string("uio", d.uio));
  if (!valid_uio(d.uio))
    return r.error("uio",
                   "'uio' = \"" + d.uio + "\" is not \"emulated\" or \"kernel:dddd:bb:dd.f\"");

  ULDD_TRY(r.read_path("backing_file", runtime_dir, d.backing_file));
  if (d.uio == "emulated" && d.backing_file.empty())
    return r.error("backing_file",
                   "disk '" + d.name + "' needs a 'backing_file' (uio = \"emulated\")");
  ULDD_TRY(r.read_uint64("size", 0, UINT64_MAX, d.size_bytes, /*sizes=*/true));
  if (d.size_bytes == 0) return r.error("size", "'size' must be greater than 0");
  if (d.size_bytes % kPage != 0)
    return r.invalid("size", d.size_bytes, "is not a multiple of 4096");
  ULDD_TRY(r.read_uint("model_latency_us", 0, 1'000'000, d.model_latency_us));
  ULDD_TRY(r.read_uint("model_max_iops", 0, 10'000'000, d.model_max_iops));

  ULDD_TRY(r.read_uint("io_queues", 1, 8, d.io_queues));
  ULDD_TRY(r.read_uint("queue_depth", 2, 4096, d.queue_depth));
  if (!is_power_of_two(d.queue_depth))
    return r.invalid("queue_depth", d.queue_depth, "is not a power of two");
  ULDD_TRY(r.read_uint("ring_capacity", 2, abi::kMaxRingCapacity, d.ring_capacity));
  if (!abi::valid_ring_capacity(d.ring_capacity))
    return r.invalid("ring_capacity", d.ring_capacity, "is not a power of two");
  uint64_t max_transfer = d.max_transfer;
  ULDD_TRY(r.read_uint64("max_transfer", kPage, kMaxTransferLimit, max_transfer, /*sizes=*/true));
  if (max_transfer % kPage != 0)
    return r.invalid("max_transfer", max_transfer, "is not a multiple of 4096");
  d.max_transfer = static_cast<uint32_t>(max_transfer);
  ULDD_TRY(r.read_uint("buffers", 1, UINT32_MAX, d.buffers));
  if (uint64_t{d.buffers} * d.max_transfer > kMaxBufferBytes)
    return r.error("buffers", "'buffers' * 'max_transfer' = " +
                                  std::to_string(uint64_t{d.buffers} * d.max_transfer) +
                                  " bytes exceeds 1GiB of DMA buffers");

  ULDD_TRY(r.read_uint("irq_coalesce_threshold", 1, 256, d.irq_coalesce_threshold));
  ULDD_TRY(r.read_uint("irq_coalesce_time_us", 0, 25500, d.irq_coalesce_time_us));
  if (d.irq_coalesce_time_us % 100 != 0)
    return r.invalid("irq_coalesce_time_us", d.irq_coalesce_time_us, "is not a multiple of 100");
  ULDD_TRY(r.read_string("policy", d.policy));
  bool policy_ok = !d.policy.empty() && d.policy.size() <= 64 &&
                   std::all_of(d.policy.begin(), d.policy.end(), [](char ch) {
                     return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
                   });
  if (!policy_ok)
    return r.error("policy", "'policy' = \"" + d.policy + "\" is not a policy name ([a-z0-9_-]{1,64})");
  std::string driver;
  ULDD_TRY(r.read_string("driver", driver));
  if (!driver.empty() && driver.front() != '/')
    return r.error("driver", "'driver' must be an absolute path (or \"\" for the bundled driver)");
  d.driver = driver;
  ULDD_TRY(r.read_path("fuse_path", runtime_dir, d.fuse_path));
  ULDD_TRY(r.read_path("nbd_socket", runtime_dir, d.nbd_socket));
  return {};
}

// Names must be unique, and no file may serve two purposes (two disks on one
// backing file would corrupt each other; two servers cannot share a socket).
Status check_unique(const std::vector<TableReader>& readers, const SupervisorConfig& c) {
  std::map<std::string, size_t> names;
  std::map<fs::path, std::pair<size_t, std::string_view>> paths;
  for (size_t i = 0; i < c.disks.size(); ++i) {
    const DiskDeviceConfig& d = c.disks[i];
    const TableReader& r = readers[i];
    auto [it, fresh] = names.emplace(d.name, i);
    if (!fresh)
      return r.error("name", "duplicate disk name '" + d.name + "' (first at " +
                                 readers[it->second].position("name") + ")");
    const std::array<std::pair<std::string_view, const fs::path*>, 3> owned = {
        {{"backing_file", &d.backing_file},
         {"fuse_path", &d.fuse_path},
         {"nbd_socket", &d.nbd_socket}}};
    for (auto [key, path] : owned) {
      if (path->empty()) continue;
      auto [p, added] = paths.emplace(*path, std::make_pair(i, key));
      if (added) continue;
      auto [first_disk, first_key] = p->second;
      std::string first = c.disks[first_disk].name + "." + std::string(first_key);
      std::string where = readers[first_disk].get(first_key) != nullptr
                              ? " at " + readers[first_disk].position(first_key)
                              : "";
      return r.error(key, "'" + std::string(key) + "' = " + path->string() +
                              " is already used by " + first + where);
    }
  }
  return {};
}

Result<SupervisorConfig> build_config(const std::string& source, const toml::table& root) {
  SupervisorConfig c;
  TableReader top(source, root, "the top level");
  for (auto&& [key, value] : root) {
    std::string_view k = key.str();
    if (k == "supervisor" || k == "disk" || k == "nic") continue;
    std::string what = value.is_table() ? "table [" + std::string(k) + "]"
                       : value.is_array_of_tables()
                           ? "table [[" + std::string(k) + "]]"
                           : "key '" + std::string(k) + "' at the top level";
    constexpr std::array<std::string_view, 3> kRoot = {"supervisor", "disk", "nic"};
    return top.error_at(key.source(), "unknown " + what + suggestion(k, kRoot));
  }
  if (const toml::node* s = root.get("supervisor")) {
    if (!s->is_table())
      return top.error("supervisor", "'supervisor' must be a table ([supervisor])");
    ULDD_TRY(parse_supervisor(source, *s->as_table(), c));
  }
  const toml::node* disks = root.get("disk");
  bool no_disks = disks == nullptr || (disks->is_array() && disks->as_array()->empty());
  if (no_disks && root.get("nic") == nullptr)
    return top.error_at(toml::source_region{{1, 1}, {1, 1}, nullptr},
                        "no [[disk]] or [[nic]] configured; at least one device is required");
  if (!no_disks && !disks->is_array_of_tables())
    return top.error("disk", "'disk' must be an array of tables ([[disk]])");
  std::vector<TableReader> readers;
  if (!no_disks) {
    for (const toml::node& n : *disks->as_array()) {
      readers.emplace_back(source, *n.as_table(), "[[disk]]");
      ULDD_TRY(parse_disk(readers.back(), c.runtime_dir, c.disks.emplace_back()));
    }
  }
  ULDD_TRY(check_unique(readers, c));
  ULDD_TRY(parse_nic_tables(source, root, c));  // supervisor/nic_config.cc
  return c;
}

}  // namespace

Result<SupervisorConfig> parse_config(std::string_view text, const std::string& source) {
  try {
    toml::table root = toml::parse(text, source);
    return build_config(source, root);
  } catch (const toml::parse_error& e) {
    const toml::source_position& p = e.source().begin;
    return plain_error(source + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) +
                       ": " + std::string(e.description()));
  } catch (const std::exception& e) {  // std::bad_alloc and the like
    return plain_error(source + ": " + e.what());
  }
}

Result<SupervisorConfig> load_config_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(path.string() + ": cannot read");
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path.string() + ": cannot read");
    if (n == 0) break;
    if (text.size() > (16u << 20)) return plain_error(path.string() + ": larger than 16 MiB");
    text.append(buf, static_cast<size_t>(n));
  }
  return parse_config(text, path.string());
}

}  // namespace uldd::supervisor
