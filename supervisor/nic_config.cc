// [[nic]] tables -> NicDeviceConfig, read with the same TomlTableReader
// (common/toml_table_reader.h) as config.cc's disks, so both report a mistake
// with the same message shape at the same position.
#include "supervisor/nic_config.h"

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "abi/ring_region.h"
#include "common/toml_table_reader.h"
#include "supervisor/kernel_uio_target.h"

namespace uldd::supervisor {
namespace {

// clang-format off
constexpr std::array<std::string_view, 16> kNicKeys = {
    "name", "mode", "uio", "tap", "tap_netns", "wire_tap", "wire_netns", "mac", "tx_descriptors",
    "rx_descriptors", "ring_capacity", "buffers", "itr_us", "heartbeat_interval_ms", "policy",
    "driver"};
// clang-format on

// ITR counts in 256 ns units in a 16-bit field (8254x SDM 13.4.18): 65535 x
// 256 ns is 16.7 ms; we allow whole microseconds up to 16 ms.
constexpr uint32_t kMaxItrUs = 16000;

// An integer in [lo, hi] that is a power of two.
Status read_power_of_two(const TomlTableReader& r, std::string_view key, uint32_t lo, uint32_t hi,
                         uint32_t& out) {
  ULDD_TRY(r.read_uint(key, lo, hi, out));
  if ((out & (out - 1)) != 0) return r.invalid(key, "is not a power of two");
  return {};
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

Status parse_nic(const TomlTableReader& r, NicDeviceConfig& n) {
  ULDD_TRY(r.check_keys(kNicKeys));
  ULDD_TRY(read_device_name_and_mode(r, "nic", n.name, n.mode));
  ULDD_TRY(r.read_string("uio", n.uio));
  if (n.uio != "emulated" && !is_kernel_uio(n.uio))
    return r.error("uio",
                   "'uio' = \"" + n.uio +
                       "\" is not \"emulated\", \"kernel:dddd:bb:dd.f\" or \"kernel:vvvv:dddd\"");
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
  ULDD_TRY(read_power_of_two(r, "tx_descriptors", 8, 4096, n.tx_descriptors));
  ULDD_TRY(read_power_of_two(r, "rx_descriptors", 8, 4096, n.rx_descriptors));
  ULDD_TRY(read_power_of_two(r, "ring_capacity", 2, abi::kMaxRingCapacity, n.ring_capacity));
  // buffer_id is 16 bits in the ring ABI.
  ULDD_TRY(r.read_uint("buffers", 16, 65536, n.buffers));
  ULDD_TRY(r.read_uint("itr_us", 0, kMaxItrUs, n.itr_us));
  ULDD_TRY(r.read_uint("heartbeat_interval_ms", 1, 60'000, n.heartbeat_interval_ms));
  ULDD_TRY(read_device_policy_and_driver(r, n.policy, n.driver));
  return {};
}

Status check_unique(const std::vector<TomlTableReader>& readers, const SupervisorConfig& c) {
  std::map<std::string, std::string> names;  // name -> where ("disk" or "nic at l:c")
  for (const DiskDeviceConfig& d : c.disks) names.emplace(d.name, "a [[disk]]");
  // {netns, ifname} -> first use
  std::map<std::pair<std::string, std::string>, std::string> ifnames;
  for (size_t i = 0; i < c.nics.size(); ++i) {
    const NicDeviceConfig& n = c.nics[i];
    const TomlTableReader& r = readers[i];
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

Status read_device_name_and_mode(const TomlTableReader& r, std::string_view kind, std::string& name,
                                 DriverMode& mode) {
  std::string k(kind);
  if (!r.has("name")) return r.error("name", "[[" + k + "]] has no 'name'");
  ULDD_TRY(r.read_string("name", name));
  bool name_ok =
      !name.empty() && name.size() <= 15 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      });
  if (!name_ok) return r.error("name", k + " name '" + name + "' does not match [a-z0-9_-]{1,15}");
  std::string text = "isolated";
  ULDD_TRY(r.read_string("mode", text));
  if (text == "isolated") {
    mode = DriverMode::kIsolated;
  } else if (text == "colocated") {
    mode = DriverMode::kColocated;
  } else {
    return r.error("mode", "'mode' = \"" + text + "\" is not \"isolated\" or \"colocated\"");
  }
  return {};
}

Status read_device_policy_and_driver(const TomlTableReader& r, std::string& policy,
                                     std::filesystem::path& driver) {
  ULDD_TRY(r.read_string("policy", policy));
  bool policy_ok =
      !policy.empty() && policy.size() <= 64 &&
      std::all_of(policy.begin(), policy.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
      });
  if (!policy_ok)
    return r.error("policy",
                   "'policy' = \"" + policy + "\" is not a policy name ([a-z0-9_-]{1,64})");
  std::string path;
  ULDD_TRY(r.read_string("driver", path));
  if (!path.empty() && path.front() != '/')
    return r.error("driver", "'driver' must be an absolute path (or \"\" for the bundled driver)");
  driver = path;
  return {};
}

Status parse_nic_tables(const std::string& source, const toml::table& root,
                        SupervisorConfig& config) {
  const toml::node* nics = root.get("nic");
  if (nics == nullptr) return {};
  if (!nics->is_array_of_tables() && !(nics->is_array() && nics->as_array()->empty())) {
    TomlTableReader top(source, root, "");
    return top.error("nic", "'nic' must be an array of tables ([[nic]])");
  }
  std::vector<TomlTableReader> readers;
  for (const toml::node& n : *nics->as_array()) {
    readers.emplace_back(source, *n.as_table(), "[[nic]]");
    ULDD_TRY(parse_nic(readers.back(), config.nics.emplace_back()));
  }
  return check_unique(readers, config);
}

}  // namespace uldd::supervisor
