// crc32c: the hardware path gives the portable table's value at every length,
// alignment and seed, and both match the published check value.
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

namespace uldd {
namespace {

TEST(Crc32cTest, CheckValue) {
  const char* s = "123456789";  // RFC 3720 B.4 / the usual CRC-32C check value
  EXPECT_EQ(crc32c(s, std::strlen(s)), 0xE3069283u);
  EXPECT_EQ(crc32c_portable(s, std::strlen(s)), 0xE3069283u);
}

TEST(Crc32cTest, HardwarePathMatchesPortableEverywhere) {
  std::array<uint8_t, 1200> buf;
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + (i >> 3));
  for (size_t start : {0, 1, 3, 7})
    for (size_t len : {0, 1, 7, 8, 9, 63, 640, 1148, 1190})
      for (uint32_t seed : {0u, 0x12345678u})
        EXPECT_EQ(crc32c(buf.data() + start, len, seed), crc32c_portable(buf.data() + start, len, seed))
            << start << "+" << len << " seed " << seed;
}

}  // namespace
}  // namespace uldd
