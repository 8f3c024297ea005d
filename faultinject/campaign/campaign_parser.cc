// parse_campaign: campaign TOML -> Campaign, or the first thing wrong with it
// as "source:line:column: reason" (common/toml_table_reader.h does the typed
// reads). Strict like the supervisor configuration: an unknown key is an
// error with a spelling suggestion, since a silently ignored "setle_ms" would
// change what a campaign measures.
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <set>

#include "common/toml_table_reader.h"
#include "faultinject/campaign/campaign.h"

namespace uldd::campaign {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 5> kRootKeys = {"campaign", "device", "fault", "workload",
                                                       "invariants"};
constexpr std::array<std::string_view, 8> kCampaignKeys = {
    "name", "seed", "faults", "duration_s", "interval_ms", "settle_ms", "settle", "min_settle_ms"};
constexpr std::array<std::string_view, 5> kDeviceKeys = {"name", "kind", "driver", "policy",
                                                         "size"};
constexpr std::array<std::string_view, 4> kFaultKeys = {"type", "weight", "params", "devices"};
constexpr std::array<std::string_view, 11> kWorkloadKeys = {
    "disk",        "blocks",          "block_size", "nic",       "echo_size", "echo_rate",
    "echo_window", "echo_timeout_ms", "fio_verify", "ext4_fsck", "iperf3"};
constexpr std::array<std::string_view, 10> kInvariantKeys = {
    "lost_writes",           "corrupted",      "io_errors",           "supervisor_survives",
    "min_recovered_percent", "lost_datagrams", "corrupted_datagrams", "duplicated_datagrams",
    "reordered_datagrams",   "broken_streams"};

bool is_name(std::string_view s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

std::string position_of(const std::string& source, const toml::node& n) {
  const toml::source_region& r = n.source();
  return source + ":" + std::to_string(r.begin.line == 0 ? 1 : r.begin.line) + ":" +
         std::to_string(r.begin.line == 0 ? 1 : r.begin.column);
}

// The array-of-tables `key` of the root, each element checked to be a table.
Result<std::vector<const toml::table*>> tables_of(const std::string& source,
                                                  const toml::table& root, std::string_view key) {
  std::vector<const toml::table*> out;
  const toml::node* n = root.get(key);
  if (n == nullptr) return out;
  const toml::array* a = n->as_array();
  if (a == nullptr)
    return located_error(source, n->source(),
                         "'" + std::string(key) + "' must be [[" + std::string(key) + "]] tables");
  for (const toml::node& e : *a) {
    if (!e.is_table())
      return located_error(source, e.source(), "[[" + std::string(key) + "]] must be tables");
    out.push_back(e.as_table());
  }
  return out;
}

Status parse_campaign_table(const TomlTableReader& r, Campaign& c) {
  ULDD_TRY(r.check_keys(kCampaignKeys));
  if (!r.has("name")) return r.error("name", "[campaign] needs a 'name'");
  ULDD_TRY(r.read_string("name", c.name));
  if (!is_name(c.name, 64)) return r.invalid("name", "is not a name ([a-z0-9_-]{1,64})");
  ULDD_TRY(r.read_uint64("seed", 0, UINT64_MAX >> 1, c.seed, false));
  ULDD_TRY(r.read_uint("faults", 1, 100000, c.faults));
  ULDD_TRY(r.read_uint("duration_s", 1, 7 * 86400, c.duration_s));
  if (r.has("faults") == r.has("duration_s"))
    return r.error(r.has("faults") ? "duration_s" : "name",
                   "[campaign] needs exactly one of 'faults' (a count) and 'duration_s'");
  ULDD_TRY(r.read_uint("interval_ms", 10, 3'600'000, c.interval_ms));
  ULDD_TRY(r.read_uint("settle_ms", 10, 600'000, c.settle_ms));
  ULDD_TRY(r.read_string("settle", c.settle));
  if (c.settle != "progress" && c.settle != "window")
    return r.invalid("settle", "is not \"progress\" or \"window\"");
  ULDD_TRY(r.read_uint("min_settle_ms", 0, 600'000, c.min_settle_ms));
  if (c.min_settle_ms > c.settle_ms) {
    if (r.has("min_settle_ms")) return r.invalid("min_settle_ms", "is longer than settle_ms");
    c.min_settle_ms = c.settle_ms;
  }
  return {};
}

Status parse_device(const std::string& source, const TomlTableReader& r, const fs::path& base,
                    CampaignDevice& d) {
  ULDD_TRY(r.check_keys(kDeviceKeys));
  if (!r.has("name")) return r.error("name", "[[device]] needs a 'name'");
  ULDD_TRY(r.read_string("name", d.name));
  if (!is_name(d.name, 15)) return r.invalid("name", "is not a device name ([a-z0-9_-]{1,15})");
  d.kind = "disk";
  ULDD_TRY(r.read_string("kind", d.kind));
  if (d.kind != "disk" && d.kind != "nic") return r.invalid("kind", "is not \"disk\" or \"nic\"");
  ULDD_TRY(r.read_path("driver", base, d.driver));
  ULDD_TRY(r.read_path("policy", base, d.policy));
  if (!d.policy.empty() && d.policy.extension() != ".toml")
    return r.invalid("policy", "is not a policy file (*.toml; its name is the policy's name)");
  if (d.kind == "nic" && r.has("size")) return r.error("size", "'size' is for disks");
  ULDD_TRY(r.read_uint64("size", 1 << 20, 64ull << 30, d.size_bytes, /*sizes=*/true));
  if (d.size_bytes % 4096 != 0) return r.invalid("size", "is not a multiple of 4096");
  (void)source;
  return {};
}

Status parse_fault(const std::string& source, const TomlTableReader& r, const toml::table& t,
                   const std::set<std::string>& device_names, CampaignFault& f) {
  ULDD_TRY(r.check_keys(kFaultKeys));
  if (!r.has("type")) return r.error("type", "[[fault]] needs a 'type'");
  ULDD_TRY(r.read_string("type", f.type));
  if (!is_name(f.type, 64)) return r.invalid("type", "is not a fault type name ([a-z0-9_-]+)");
  f.where = position_of(source, *t.get("type"));
  ULDD_TRY(r.read_uint("weight", 1, 1'000'000, f.weight));
  if (const toml::node* p = t.get("params")) {
    const toml::table* pt = p->as_table();
    if (pt == nullptr) return r.wrong_type("params", "a table (params = { key = value })");
    for (auto&& [key, value] : *pt) {
      std::string k(key.str());
      if (value.is_string()) {
        f.params[k] = value.as_string()->get();
      } else if (value.is_integer()) {
        f.params[k] = std::to_string(value.as_integer()->get());
      } else if (value.is_boolean()) {
        f.params[k] = value.as_boolean()->get() ? "true" : "false";
      } else {
        return located_error(source, value.source(),
                             "params." + k + " must be a string, an integer or a boolean");
      }
    }
  }
  if (const toml::node* d = t.get("devices")) {
    const toml::array* a = d->as_array();
    if (a == nullptr) return r.wrong_type("devices", "an array of device names");
    for (const toml::node& e : *a) {
      if (!e.is_string())
        return located_error(source, e.source(), "'devices' must hold device names (strings)");
      std::string name = e.as_string()->get();
      if (device_names.count(name) == 0)
        return located_error(source, e.source(),
                             "'devices' names \"" + name + "\", which no [[device]] defines");
      f.devices.push_back(name);
    }
    if (f.devices.empty()) return r.error("devices", "'devices' is empty (leave it out for all)");
  }
  return {};
}

Status parse_workload(const TomlTableReader& r, const Campaign& c, DiskWorkload& w,
                      NicWorkload& nic) {
  ULDD_TRY(r.check_keys(kWorkloadKeys));
  ULDD_TRY(r.read_string("disk", w.name));
  if (!w.name.empty() && w.name != "verified-writer")
    return r.invalid("disk", "is not a disk workload (\"verified-writer\")");
  ULDD_TRY(r.read_uint("blocks", 1, 1u << 24, w.blocks));
  ULDD_TRY(r.read_uint("block_size", 4096, 1u << 20, w.block_size));
  if (w.block_size % 4096 != 0) return r.invalid("block_size", "is not a multiple of 4096");
  ULDD_TRY(r.read_string("nic", nic.name));
  if (!nic.name.empty() && nic.name != "udp-echo") return r.invalid("nic", "is not \"udp-echo\"");
  ULDD_TRY(r.read_uint("echo_size", 64, 1472, nic.size));
  ULDD_TRY(r.read_uint("echo_rate", 1, 100'000, nic.rate));
  ULDD_TRY(r.read_uint("echo_window", 1, 4096, nic.window));
  ULDD_TRY(r.read_uint("echo_timeout_ms", 10, 60'000, nic.timeout_ms));
  ULDD_TRY(r.read_bool("fio_verify", w.fio_verify));
  ULDD_TRY(r.read_bool("ext4_fsck", w.ext4_fsck));
  ULDD_TRY(r.read_bool("iperf3", nic.iperf3));
  for (const char* key : {"fio_verify", "ext4_fsck"})
    if (r.has(key) && w.name.empty())
      return r.error(key, std::string("'") + key +
                              "' runs beside the disk's verified writer: it needs disk = "
                              "\"verified-writer\"");
  if (r.has("iperf3") && nic.name.empty())
    return r.error("iperf3", "'iperf3' runs beside the udp-echo: it needs nic = \"udp-echo\"");
  if (!nic.name.empty() && std::none_of(c.devices.begin(), c.devices.end(),
                                        [](const auto& d) { return d.kind == "nic"; }))
    return r.error("nic", "a NIC workload needs a [[device]] of kind \"nic\"");
  if (!w.name.empty()) {
    auto disk = std::find_if(c.devices.begin(), c.devices.end(),
                             [](const CampaignDevice& d) { return d.kind == "disk"; });
    if (disk == c.devices.end())
      return r.error("disk", "a disk workload needs a [[device]] of kind \"disk\"");
    uint64_t need = uint64_t{w.blocks} * w.block_size;
    if (need > disk->size_bytes)
      return r.error("blocks", "blocks x block_size = " + std::to_string(need) +
                                   " bytes is more than " + disk->name + "'s size (" +
                                   std::to_string(disk->size_bytes) + ")");
    uint64_t end = disk_regions(w).end;
    if (end > disk->size_bytes)
      return r.error(w.ext4_fsck ? "ext4_fsck" : "fio_verify",
                     "the writer's blocks, fio's 8 MiB and ext4's 32 MiB region need " +
                         std::to_string(end) + " bytes, more than " + disk->name + "'s size (" +
                         std::to_string(disk->size_bytes) + ")");
  }
  return {};
}

Status parse_invariants(const TomlTableReader& r, Invariants& inv) {
  ULDD_TRY(r.check_keys(kInvariantKeys));
  ULDD_TRY(r.read_uint64("lost_writes", 0, UINT32_MAX, inv.lost_writes, false));
  ULDD_TRY(r.read_uint64("corrupted", 0, UINT32_MAX, inv.corrupted, false));
  ULDD_TRY(r.read_uint64("io_errors", 0, UINT32_MAX, inv.io_errors, false));
  ULDD_TRY(r.read_bool("supervisor_survives", inv.supervisor_survives));
  ULDD_TRY(r.read_double("min_recovered_percent", 0.0, 100.0, inv.min_recovered_percent));
  ULDD_TRY(r.read_uint64("lost_datagrams", 0, UINT32_MAX, inv.lost_datagrams, false));
  ULDD_TRY(r.read_uint64("corrupted_datagrams", 0, UINT32_MAX, inv.corrupted_datagrams, false));
  ULDD_TRY(r.read_uint64("duplicated_datagrams", 0, UINT32_MAX, inv.duplicated_datagrams, false));
  ULDD_TRY(r.read_uint64("reordered_datagrams", 0, UINT32_MAX, inv.reordered_datagrams, false));
  ULDD_TRY(r.read_uint64("broken_streams", 0, UINT32_MAX, inv.broken_streams, false));
  return {};
}

Result<Campaign> build(const std::string& source, const toml::table& root) {
  Campaign c;
  c.file = source;
  fs::path base = fs::absolute(fs::path(source)).parent_path();
  TomlTableReader top(source, root, "");
  ULDD_TRY(top.check_keys(kRootKeys));
  const toml::table* ct = root.get_as<toml::table>("campaign");
  if (ct == nullptr) {
    if (root.get("campaign") != nullptr)
      return located_error(source, root.get("campaign")->source(), "[campaign] must be a table");
    return plain_error(source + ":1:1: no [campaign] table");
  }
  ULDD_TRY(parse_campaign_table(TomlTableReader(source, *ct, "[campaign]"), c));

  auto devices = tables_of(source, root, "device");
  if (!devices) return devices.error();
  if (devices->empty()) return plain_error(source + ":1:1: no [[device]] to inject faults into");
  std::set<std::string> names;
  for (const toml::table* t : *devices) {
    TomlTableReader r(source, *t, "[[device]]");
    CampaignDevice d;
    ULDD_TRY(parse_device(source, r, base, d));
    if (!names.insert(d.name).second)
      return r.error("name", "duplicate device name '" + d.name + "'");
    c.devices.push_back(std::move(d));
  }

  auto faults = tables_of(source, root, "fault");
  if (!faults) return faults.error();
  if (faults->empty()) return plain_error(source + ":1:1: no [[fault]] to inject");
  for (const toml::table* t : *faults) {
    TomlTableReader r(source, *t, "[[fault]]");
    CampaignFault f;
    ULDD_TRY(parse_fault(source, r, *t, names, f));
    c.fault_kinds.push_back(std::move(f));
  }

  if (const toml::node* w = root.get("workload")) {
    if (!w->is_table()) return located_error(source, w->source(), "[workload] must be a table");
    ULDD_TRY(parse_workload(TomlTableReader(source, *w->as_table(), "[workload]"), c,
                            c.disk_workload, c.nic_workload));
  }
  if (const toml::node* i = root.get("invariants")) {
    if (!i->is_table()) return located_error(source, i->source(), "[invariants] must be a table");
    ULDD_TRY(
        parse_invariants(TomlTableReader(source, *i->as_table(), "[invariants]"), c.invariants));
  }
  return c;
}

}  // namespace

Result<Campaign> parse_campaign(std::string_view text, const std::string& source) {
  return parse_toml(text, source, [&](const toml::table& root) { return build(source, root); });
}

Result<Campaign> load_campaign_file(const std::filesystem::path& path) {
  auto text = read_toml_text(path, 4);
  if (!text) return text.error();
  return parse_campaign(*text, path.string());
}

}  // namespace uldd::campaign
