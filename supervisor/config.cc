// parse_config: TOML text -> SupervisorConfig, or the first thing wrong with it
// as "source:line:column: reason".
//
// toml++ throws (the packaged shared library is built with exceptions); its
// exceptions are caught in parse_toml (common/toml_table_reader.h), so nothing
// leaves parse_config by throwing. Validation is strict on purpose: an unknown
// key is an error with a spelling suggestion, because a silently ignored
// "queue_dept" is a misconfigured production disk.
#include "supervisor/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "abi/ring_region.h"
#include "common/toml_table_reader.h"
#include "supervisor/kernel_uio_target.h"
#include "supervisor/nic_config.h"

namespace uldd::supervisor {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 8> kSupervisorKeys = {
    "runtime_dir", "log_level", "status_interval_ms", "driver_user",
    "policy_dir",  "dbus",      "control_group",      "metrics_file"};
// clang-format off
constexpr std::array<std::string_view, 18> kDiskKeys = {
    "name", "mode", "uio", "backing_file", "size", "model_latency_us", "model_max_iops", "io_queues",
    "queue_depth", "ring_capacity", "max_transfer", "buffers", "irq_coalesce_threshold",
    "irq_coalesce_time_us", "policy", "driver", "fuse_path", "nbd_socket"};
// clang-format on

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxTransferLimit = 2ull << 20;  // what one PRP list page (512 x 4 KiB) maps
constexpr uint64_t kMaxBufferBytes = 1ull << 30;    // DMA buffers must stay pinnable

// "'key' = <bytes> why": a size written as "6KiB" is judged by its byte count.
Error invalid_bytes(const TomlTableReader& r, std::string_view key, uint64_t bytes,
                    std::string_view why) {
  return r.error(key,
                 "'" + std::string(key) + "' = " + std::to_string(bytes) + " " + std::string(why));
}

bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// "emulated", or "kernel:" and a PCI address or vendor:device id
// (supervisor/kernel_uio_target.h).
bool valid_uio(const std::string& s) {
  return s == "emulated" || is_kernel_uio(s);
}

Status parse_supervisor(const std::string& source, const toml::table& t, SupervisorConfig& c) {
  TomlTableReader r(source, t, "[supervisor]");
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
  ULDD_TRY(r.read_string("dbus", c.dbus));
  if (c.dbus != "system" && c.dbus != "none" && c.dbus.find(':') == std::string::npos)
    return r.error("dbus", "'dbus' = \"" + c.dbus +
                               "\" is neither \"system\", \"none\" nor a D-Bus address such as "
                               "\"unix:path=/run/uldd/bus\"");
  ULDD_TRY(r.read_string("control_group", c.control_group));
  bool group_ok =
      c.control_group.size() <= 32 &&
      std::all_of(c.control_group.begin(), c.control_group.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
      });
  if (!group_ok) return r.error("control_group", "'control_group' is not a valid group name");
  std::string metrics = c.metrics_file.string();
  ULDD_TRY(r.read_string("metrics_file", metrics));
  c.metrics_file = metrics;  // relative: resolved against runtime_dir by parse_config
  return {};
}

Status parse_disk(const TomlTableReader& r, const fs::path& runtime_dir, DiskDeviceConfig& d) {
  ULDD_TRY(r.check_keys(kDiskKeys));
  ULDD_TRY(read_device_name_and_mode(r, "disk", d.name, d.mode));
  ULDD_TRY(r.read_string("uio", d.uio));
  if (!valid_uio(d.uio))
    return r.error("uio",
                   "'uio' = \"" + d.uio +
                       "\" is not \"emulated\", \"kernel:dddd:bb:dd.f\" or \"kernel:vvvv:dddd\"");

  ULDD_TRY(r.read_path("backing_file", runtime_dir, d.backing_file));
  if (d.uio == "emulated" && d.backing_file.empty())
    return r.error("backing_file",
                   "disk '" + d.name + "' needs a 'backing_file' (uio = \"emulated\")");
  ULDD_TRY(r.read_uint64("size", 0, UINT64_MAX, d.size_bytes, /*sizes=*/true));
  if (d.size_bytes == 0) return r.error("size", "'size' must be greater than 0");
  if (d.size_bytes % kPage != 0)
    return invalid_bytes(r, "size", d.size_bytes, "is not a multiple of 4096");
  ULDD_TRY(r.read_uint("model_latency_us", 0, 1'000'000, d.model_latency_us));
  ULDD_TRY(r.read_uint("model_max_iops", 0, 10'000'000, d.model_max_iops));

  ULDD_TRY(r.read_uint("io_queues", 1, 8, d.io_queues));
  ULDD_TRY(r.read_uint("queue_depth", 2, 4096, d.queue_depth));
  if (!is_power_of_two(d.queue_depth)) return r.invalid("queue_depth", "is not a power of two");
  ULDD_TRY(r.read_uint("ring_capacity", 2, abi::kMaxRingCapacity, d.ring_capacity));
  if (!abi::valid_ring_capacity(d.ring_capacity))
    return r.invalid("ring_capacity", "is not a power of two");
  uint64_t max_transfer = d.max_transfer;
  ULDD_TRY(r.read_uint64("max_transfer", kPage, kMaxTransferLimit, max_transfer, /*sizes=*/true));
  if (max_transfer % kPage != 0)
    return invalid_bytes(r, "max_transfer", max_transfer, "is not a multiple of 4096");
  d.max_transfer = static_cast<uint32_t>(max_transfer);
  ULDD_TRY(r.read_uint("buffers", 1, UINT32_MAX, d.buffers));
  if (uint64_t{d.buffers} * d.max_transfer > kMaxBufferBytes)
    return r.error("buffers", "'buffers' * 'max_transfer' = " +
                                  std::to_string(uint64_t{d.buffers} * d.max_transfer) +
                                  " bytes exceeds 1GiB of DMA buffers");

  ULDD_TRY(r.read_uint("irq_coalesce_threshold", 1, 256, d.irq_coalesce_threshold));
  ULDD_TRY(r.read_uint("irq_coalesce_time_us", 0, 25500, d.irq_coalesce_time_us));
  if (d.irq_coalesce_time_us % 100 != 0)
    return r.invalid("irq_coalesce_time_us", "is not a multiple of 100");
  ULDD_TRY(read_device_policy_and_driver(r, d.policy, d.driver));
  ULDD_TRY(r.read_path("fuse_path", runtime_dir, d.fuse_path));
  ULDD_TRY(r.read_path("nbd_socket", runtime_dir, d.nbd_socket));
  return {};
}

// Names must be unique, and no file may serve two purposes (two disks on one
// backing file would corrupt each other; two servers cannot share a socket).
Status check_unique(const std::vector<TomlTableReader>& readers, const SupervisorConfig& c) {
  std::map<std::string, size_t> names;
  std::map<fs::path, std::pair<size_t, std::string_view>> paths;
  for (size_t i = 0; i < c.disks.size(); ++i) {
    const DiskDeviceConfig& d = c.disks[i];
    const TomlTableReader& r = readers[i];
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
  TomlTableReader top(source, root, "");
  for (auto&& [key, value] : root) {
    std::string_view k = key.str();
    if (k == "supervisor" || k == "disk" || k == "nic") continue;
    std::string what = value.is_table() ? "table [" + std::string(k) + "]"
                       : value.is_array_of_tables()
                           ? "table [[" + std::string(k) + "]]"
                           : "key '" + std::string(k) + "' at the top level";
    constexpr std::array<std::string_view, 3> kRoot = {"supervisor", "disk", "nic"};
    return top.error_at(key.source(), "unknown " + what + did_you_mean(k, kRoot));
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
  std::vector<TomlTableReader> readers;
  if (!no_disks) {
    for (const toml::node& n : *disks->as_array()) {
      readers.emplace_back(source, *n.as_table(), "[[disk]]");
      ULDD_TRY(parse_disk(readers.back(), c.runtime_dir, c.disks.emplace_back()));
    }
  }
  ULDD_TRY(check_unique(readers, c));
  ULDD_TRY(parse_nic_tables(source, root, c));  // supervisor/nic_config.cc
  if (!c.metrics_file.empty() && c.metrics_file.is_relative())
    c.metrics_file = (c.runtime_dir / c.metrics_file).lexically_normal();
  return c;
}

}  // namespace

Result<SupervisorConfig> parse_config(std::string_view text, const std::string& source) {
  return parse_toml(text, source,
                    [&](const toml::table& root) { return build_config(source, root); });
}

Result<SupervisorConfig> load_config_file(const std::filesystem::path& path) {
  auto text = read_toml_text(path, 16);
  if (!text) return text.error();
  return parse_config(*text, path.string());
}

}  // namespace uldd::supervisor
