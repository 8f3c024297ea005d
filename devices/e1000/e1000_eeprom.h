// The 82540EM's EEPROM as the model holds it: 64 words whose first three are
// the MAC address and whose checksum word makes them sum to 0xBABA (SDM §5.6),
// so a driver that validates the image, as Linux's does, accepts it.
#pragma once

#include <array>
#include <cstdint>

#include "devices/e1000/e1000_spec.h"
#include "devices/e1000/mac_address.h"

namespace uldd::e1000 {

using EepromImage = std::array<uint16_t, eeprom::kWords>;

inline EepromImage make_eeprom(const MacAddress& mac) {
  EepromImage words{};
  for (int i = 0; i < 3; ++i)
    words[eeprom::kMacWord0 + i] =
        static_cast<uint16_t>(mac.bytes[2 * i] | (uint16_t{mac.bytes[2 * i + 1]} << 8));
  words[0x0A] = 0x0000;  // init control 1: defaults
  uint16_t sum = 0;
  for (uint32_t i = 0; i < eeprom::kChecksumWord; ++i) sum = static_cast<uint16_t>(sum + words[i]);
  words[eeprom::kChecksumWord] = static_cast<uint16_t>(eeprom::kChecksumSum - sum);
  return words;
}

inline uint16_t eeprom_sum(const EepromImage& words) {
  uint16_t sum = 0;
  for (uint16_t w : words) sum = static_cast<uint16_t>(sum + w);
  return sum;
}

}  // namespace uldd::e1000
