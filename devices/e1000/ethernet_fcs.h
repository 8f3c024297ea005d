// The Ethernet frame check sequence (IEEE 802.3 CRC-32, reflected, polynomial
// 0xEDB88320), which the e1000 leaves at the end of a received frame unless
// RCTL.SECRC strips it (SDM §13.4.22): a TAP delivers frames without one, so
// the model computes it, and a driver that does not set SECRC sees the same
// 4 extra bytes as on the real card.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace uldd::e1000 {

inline constexpr std::array<uint32_t, 256> kFcsTable = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}();

// The FCS of `frame`, as the 4 bytes that follow it on the wire (little end first).
inline uint32_t ethernet_fcs(std::span<const std::byte> frame) {
  uint32_t c = 0xFFFFFFFFu;
  for (std::byte b : frame) c = kFcsTable[(c ^ std::to_integer<uint8_t>(b)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}
static_assert(kFcsTable[1] == 0x77073096u);

}  // namespace uldd::e1000
