// MacAddress: the station address of the emulated e1000 as the operator
// writes it ("52:54:00:12:34:56") and as the EEPROM and RAL/RAH hold it.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace uldd::e1000 {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  // Six hex pairs separated by ':'; nullopt otherwise.
  static std::optional<MacAddress> parse(const std::string& text) {
    MacAddress mac;
    unsigned v[6];
    char tail = 0;
    if (text.size() != 17 || std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1],
                                         &v[2], &v[3], &v[4], &v[5], &tail) != 6)
      return std::nullopt;
    for (int i = 0; i < 6; ++i) mac.bytes[i] = static_cast<uint8_t>(v[i]);
    return mac;
  }
  std::string to_string() const {
    char out[18];
    std::snprintf(out, sizeof out, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                  bytes[3], bytes[4], bytes[5]);
    return out;
  }
  bool multicast() const { return (bytes[0] & 1) != 0; }  // includes broadcast
  // RAL/RAH values (SDM §13.4.62-63): bytes 0..3 in RAL, 4..5 in RAH 15:0.
  uint32_t ral() const {
    return uint32_t{bytes[0]} | (uint32_t{bytes[1]} << 8) | (uint32_t{bytes[2]} << 16) |
           (uint32_t{bytes[3]} << 24);
  }
  uint32_t rah_low16() const { return uint32_t{bytes[4]} | (uint32_t{bytes[5]} << 8); }
  bool operator==(const MacAddress&) const = default;
};

}  // namespace uldd::e1000
