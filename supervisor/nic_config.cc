// [[nic]] tables -> NicDeviceConfig. The reader below mirrors config.cc's disk
// reader (same message shapes, same positions) but is kept local: config.cc's
// helpers are private to it, and a NIC has none of the disk's size or path keys.
#include "supervisor/nic_config.h"

#include <algorithm>
#include <array>
#include <map>
#include <span>
#include <vector>

#include "abi/ring_region.h"

namespace uldd::supervisor {
namespace {

// clang-format off
constexpr std::array<std::string_view, 14> kNicKeys = {
    "name", "mode", "uio", "tap", "tap_netns", "wire_tap", "wire_netns", "mac", "tx_descriptors",
    "rx_descriptors", "ring_capacity", "buffers", "itr_us", "heartbeat_interval_ms"};
// clang-format on

// ITR counts in 256 ns units in a 16-bit field (8254x SDM 13.4.18): 65535 x
// 256 ns is 16.7 ms; we allow whole microseconds up to 16 ms.
constexpr uint32_t kMaxItrUs = 16000;

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

std::string suggestion(std::string_view unknown) {
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, unknown.size() / 3) + 1;
  for (std::string_view k : kNicKeys) {
    size_t d = edit_distance(unknown, k);
    // A key missing its unit suffix ("itr" for "itr_us") is a near miss too.
    if (k.size() > unknown.size() && k.starts_with(unknown) && k[unknown.size()] == '_') d = 1;
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

std::string_view type_name(const toml::node& n) {
  if (n.is_string()) return "a string";
  if (n.is_integer()) return "an integer";
  if (n.is_floating_point()) return "a float";
  if (n.is_boolean()) return "a boolean";
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  return "a date or time";
}

class NicReader {
 public:
  NicReader(const std::string& source, const toml::table& table) : source_(source), table_(table) {}

  Error error_at(const toml::source_region& r, const std::string& reason) const {
    return plain_error(source_ + ":" + std::to_string(r.begin.line) + ":" +
                       std::to_string(r.begin.column) + ": " + reason);
  }
  Error error(std::string_view key, const std::string& reason) const {
    const toml::node* n = table_.get(key);
    return error_at(n != nullptr ? n->source() : table_.source(), reason);
  }
  std::string position(std::string_view key) const {
    const toml::node* n = table_.get(key);
    const toml::source_region& r = n != nullptr ? n->source() : table_.source();
    return std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }
  bool has(std::string_view key) const { return table_.get(key) != nullptr; }

  Status check_keys() const {
    for (auto&& [key, value] : table_) {
      if (std::find(kNicKeys.begin(), kNicKeys.end(), key.str()) != kNicKeys.end()) continue;
      return error_at(key.source(), "unknown key '" + std::string(key.str()) + "' in [[nic]]" +
                                        suggestion(key.str()));
    }
    return {};
  }

  Status read_string(std::string_view key, std::string& out) const {
    const toml::node* n = table_.get(key);
    if (n == nullptr) return {};
    if (!n->is_string())
      return error(
          key, "'" + std::string(key) + "' must be a string, not " + std::string(type_name(*n)));
    out = n->as_string()->get();
    return {};
  }

  Status read_uint(std::string_view key, uint32_t lo, uint32_t hi, uint32_t& out) const {
    const toml::node* n = table_.get(key);
    if (n == nullptr) return {};
    if (!n->is_integer())
      return error(
          key, "'" + std::string(key) + "' must be an integer, not " + std::string(type_name(*n)));
    int64_t v = n->as_integer()->get();
    if (v < 0) return error(key, "'" + std::string(key) + "' must not be negative");
    if (v < lo || v > hi)
      return error(key, "'" + std::string(key) + "' = " + std::to_string(v) + " is out of range " +
                            std::to_string(lo) + ".." + std::to_string(hi));
    out = static_cast<uint32_t>(v);
    return {};
  }

  Status read_power_of_two(std::string_view key, uint32_t lo, uint32_t hi, uint32_t& out) const {
    ULDD_TRY(read_uint(key, lo, hi, out));
    if ((out & (out - 1)) != 0)
      return error(
          key, "'" + std::string(key) + "' = " + std::to_string(out) + " is not a power of two");
    return {};
  }

 private:
  const std::string& source_;
  const toml::table& table_;
};

bool valid_device_name(const std::string& s) {
  return !s.empty() && s.size() <= 15 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// A Linux interface name (IFNAMSIZ - 1 = 15 bytes) and a netns name (a file
// under /run/netns), restricted to characters no shell or ip(8) will mangle.
bool valid_ifname(const std::string& s, size_t max) {
  return !s.empty() && s.size() <= max && s != "." && s != ".." &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
         });
}

// "52:54:00:12:34:56": six lower- or upper-case hex pairs; unicast (I/G bit
// of the first octet clear) and not all zero, as a station address must be.
bool valid_mac(const std::string& s, std::string* why) {
  if (s.size() != 17) return *why = "is not six hex pairs separated by ':'", false;
  unsigned octets[6] = {};
  for (size_t i = 0; i < 6; ++i) {
    for (size_t j = 0; j < 2; ++j) {
      char c = s[i * 3 + j];
      int v = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (v < 0) return *why = "is not six hex pairs separated by ':'", false;
      octets[i] = octets[i] * 16 + static_cast<unsigned>(v);
    }
    if (i < 5 && s[i * 3 + 2] != ':') return *why = "is not six hex pairs separated by ':'", false;
  }
  if (octets[0] & 1) return *why = "is a multicast address", false;
  if (std::all_of(std::begin(octets), std::end(octets), [](unsigned o) { return o == 0; }))
    return *why = "is all zero", false;
  return true;
}

Status parse_nic(const NicReader& r, NicDeviceConfig& n) {
  ULDD_TRY(r.check_keys());
  if (!r.has("name")) return r.error("name", "[[nic]] has no 'name'");
  ULDD_TRY(r.read_string("name", n.name));
  if (!valid_device_name(n.name))
    return r.error("name", "nic name '" + n.name + "' does not match [a-z0-9_-]{1,15}");
  std::string mode = "isolated";
  ULDD_TRY(r.read_string("mode", mode));
  if (mode == "isolated") {
    n.mode = DriverMode::kIsolated;
  } else if (mode == "colocated") {
    n.mode = DriverMode::kColocated;
  } else {
    return r.error("mode", "'mode' = \"" + mode + "\" is not \"isolated\" or \"colocated\"");
  }
  ULDD_TRY(r.read_string("uio", n.uio));
  if (n.uio != "emulated")
    return r.error("uio",
                   "'uio' = \"" + n.uio + "\" is not \"emulated\" (the only NIC backend so far)");
  for (auto [key, field] :
       {std::pair<std::string_view, std::string*>{"tap", &n.tap}, {"wire_tap", &n.wire_tap}}) {
    ULDD_TRY(r.read_string(key, *field));
    if (!valid_ifname(*field, 15))
      return r.error(key, "'" + std::string(key) + "' = \"" + *field +
                              "\" is not an interface name ([A-Za-z0-9_.-]{1,15})");
  }
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"tap_netns", &n.tap_netns},
                            {"wire_netns", &n.wire_netns}}) {
    ULDD_TRY(r.read_string(key, *field));
    if (!field->empty() && !valid_ifname(*field, 64))
      return r.error(key, "'" + std::string(key) + "' = \"" + *field +
                              "\" is not a netns name ([A-Za-z0-9_.-]{1,64}, \"\" = none)");
  }
  ULDD_TRY(r.read_string("mac", n.mac));
  std::string why;
  if (!valid_mac(n.mac, &why)) return r.error("mac", "'mac' = \"" + n.mac + "\" " + why);
  // The e1000 ring length registers count 128-byte units (8 descriptors);
  // powers of two keep the driver's index arithmetic a mask.
  ULDD_TRY(r.read_power_of_two("tx_descriptors", 8, 4096, n.tx_descriptors));
  ULDD_TRY(r.read_power_of_two("rx_descriptors", 8, 4096, n.rx_descriptors));
  ULDD_TRY(r.read_power_of_two("ring_capacity", 2, abi::kMaxRingCapacity, n.ring_capacity));
  // buffer_id is 16 bits in the ring ABI.
  ULDD_TRY(r.read_uint("buffers", 16, 65536, n.buffers));
  ULDD_TRY(r.read_uint("itr_us", 0, kMaxItrUs, n.itr_us));
  ULDD_TRY(r.read_uint("heartbeat_interval_ms", 1, 60'000, n.heartbeat_interval_ms));
  return {};
}

Status check_unique(const std::vector<NicReader>& readers, const SupervisorConfig& c) {
  std::map<std::string, std::string> names;  // name -> where ("disk" or "nic at l:c")
  for (const DiskDeviceConfig& d : c.disks) names.emplace(d.name, "a [[disk]]");
  // {netns, ifname} -> first use
  std::map<std::pair<std::string, std::string>, std::string> ifnames;
  for (size_t i = 0; i < c.nics.size(); ++i) {
    const NicDeviceConfig& n = c.nics[i];
    const NicReader& r = readers[i];
    auto [it, fresh] = names.emplace(n.name, "[[nic]] at " + r.position("name"));
    if (!fresh)
      return r.error("name", "duplicate device name '" + n.name + "' (first: " + it->second + ")");
    for (auto [key, ns, ifname] :
         {std::tuple<std::string_view, const std::string*, const std::string*>{"tap", &n.tap_netns,
                                                                               &n.tap},
          {"wire_tap", &n.wire_netns, &n.wire_tap}}) {
      std::string where = n.name + "." + std::string(key) + " at " + r.position(key);
      auto [used, added] = ifnames.emplace(std::make_pair(*ns, *ifname), where);
      if (!added)
        return r.error(key, "'" + std::string(key) + "' = \"" + *ifname + "\" is already used by " +
                                used->second + (ns->empty() ? "" : " in netns " + *ns));
    }
  }
  return {};
}

}  // namespace

Status parse_nic_tables(const std::string& source, const toml::table& root,
                        SupervisorConfig& config) {
  const toml::node* nics = root.get("nic");
  if (nics == nullptr) return {};
  if (!nics->is_array_of_tables() && !(nics->is_array() && nics->as_array()->empty())) {
    NicReader top(source, root);
    return top.error("nic", "'nic' must be an array of tables ([[nic]])");
  }
  std::vector<NicReader> readers;
  for (const toml::node& n : *nics->as_array()) {
    readers.emplace_back(source, *n.as_table());
    ULDD_TRY(parse_nic(readers.back(), config.nics.emplace_back()));
  }
  return check_unique(readers, config);
}

}  // namespace uldd::supervisor
