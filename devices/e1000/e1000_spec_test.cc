// Layouts and encodings of e1000_spec.h and the small helpers built on them.
#include "devices/e1000/e1000_spec.h"

#include <gtest/gtest.h>

#include "devices/e1000/e1000_eeprom.h"
#include "devices/e1000/ethernet_fcs.h"
#include "devices/e1000/mac_address.h"

namespace uldd::e1000 {
namespace {

TEST(E1000Spec, DescriptorsAreSixteenBytes) {
  // Also pinned by static_asserts; here so a layout change shows in the test log.
  EXPECT_EQ(sizeof(RxDescriptor), 16u);
  EXPECT_EQ(sizeof(TxDescriptor), 16u);
  EXPECT_EQ(offsetof(RxDescriptor, status), 12u);
  EXPECT_EQ(offsetof(TxDescriptor, cmd), 11u);
}

TEST(E1000Spec, RegisterOffsetsMatchTheDatasheet) {
  EXPECT_EQ(kRegIcr, 0xC0u);
  EXPECT_EQ(kRegRdt, 0x2818u);
  EXPECT_EQ(kRegTdt, 0x3818u);
  EXPECT_EQ(ral(1), 0x5408u);
  EXPECT_EQ(rah(15), 0x547Cu);
  EXPECT_EQ(eerd::read_request(2), 0x201u);
  EXPECT_EQ(itr::interval_ns(3906), 999936u);
}

TEST(E1000Spec, MacAddressParsesAndRoundTrips) {
  auto mac = MacAddress::parse("52:54:00:12:34:5e");
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(mac->to_string(), "52:54:00:12:34:5e");
  EXPECT_EQ(mac->ral(), 0x12005452u);
  EXPECT_EQ(mac->rah_low16(), 0x5E34u);
  EXPECT_FALSE(MacAddress::parse("52:54:00:12:34").has_value());
  EXPECT_FALSE(MacAddress::parse("52:54:00:12:34:5g").has_value());
  EXPECT_FALSE(MacAddress::parse("52:54:00:12:34:56:").has_value());
}

TEST(E1000Spec, EepromHoldsMacAndChecksum) {
  MacAddress mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
  EepromImage image = make_eeprom(mac);
  EXPECT_EQ(image[0], 0x5452u);
  EXPECT_EQ(image[1], 0x1200u);
  EXPECT_EQ(image[2], 0x5634u);
  EXPECT_EQ(eeprom_sum(image), eeprom::kChecksumSum);
}

TEST(E1000Spec, FcsMatchesTheStandardCheckValue) {
  const char* text = "123456789";  // CRC-32 check value 0xCBF43926
  auto bytes = std::as_bytes(std::span(text, 9));
  EXPECT_EQ(ethernet_fcs(bytes), 0xCBF43926u);
}

}  // namespace
}  // namespace uldd::e1000
