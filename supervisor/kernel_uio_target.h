// KernelUioTarget: which real PCI device a configured disk or NIC drives, from
// its `uio` setting. "emulated" is the device model (uldd-hw); a real device
// bound to uio_pci_generic is named by its PCI address, "kernel:0000:00:04.0",
// or by its vendor:device id, "kernel:8086:100e" (the first such device, in
// address order, that is bound to a UIO driver; uio/kernel_uio.h finds it).
// Parsed here once for the configuration's check and for device start-up.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace uldd::supervisor {

struct KernelUioTarget {
  std::string bdf;  // "dddd:bb:dd.f", or "" when named by id
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;

  std::string describe() const {
    if (!bdf.empty()) return "PCI device " + bdf;
    char buf[32];
    std::snprintf(buf, sizeof buf, "PCI device %04x:%04x", vendor_id, device_id);
    return buf;
  }
};

namespace kernel_uio_detail {

inline bool matches_shape(std::string_view s, std::string_view shape) {
  if (s.size() != shape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (shape[i] == 'h' && !hex) return false;
    if (shape[i] == 'f' && (c < '0' || c > '7')) return false;
    if ((shape[i] == ':' || shape[i] == '.') && c != shape[i]) return false;
  }
  return true;
}

inline uint16_t hex16(std::string_view s) {
  uint16_t v = 0;
  for (char c : s) v = static_cast<uint16_t>(v * 16 + (c <= '9' ? c - '0' : c - 'a' + 10));
  return v;
}

}  // namespace kernel_uio_detail

// The target of "kernel:dddd:bb:dd.f" or "kernel:vvvv:dddd" (lower-case hex);
// nullopt for anything else, "emulated" included.
inline std::optional<KernelUioTarget> parse_kernel_uio(std::string_view uio) {
  using kernel_uio_detail::matches_shape;
  if (!uio.starts_with("kernel:")) return std::nullopt;
  std::string_view rest = uio.substr(7);
  KernelUioTarget t;
  if (matches_shape(rest, "hhhh:hh:hh.f")) {
    t.bdf = std::string(rest);
    return t;
  }
  if (matches_shape(rest, "hhhh:hhhh")) {
    t.vendor_id = kernel_uio_detail::hex16(rest.substr(0, 4));
    t.device_id = kernel_uio_detail::hex16(rest.substr(5, 4));
    if (t.vendor_id == 0 || t.vendor_id == 0xffff) return std::nullopt;
    return t;
  }
  return std::nullopt;
}

inline bool is_kernel_uio(std::string_view uio) {
  return parse_kernel_uio(uio).has_value();
}

}  // namespace uldd::supervisor
