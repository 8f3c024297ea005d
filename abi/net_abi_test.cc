// Runtime checks of the NIC half of the shared-memory ABI: NetDescriptor
// field offsets, the net ring region layout for the capacities we use, the
// refusal paths of check_net_ring_region_header (it runs on bytes an untrusted
// process may have written), the NIC fields of DriverConfig, and that the four
// rings of a view really are independent SPSC rings.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "abi/control_block.h"
#include "abi/net_descriptor.h"
#include "abi/net_ring_region.h"
#include "abi/ring_region.h"

namespace uldd::abi {
namespace {

TEST(NetAbiTest, MagicSpellsUldnAndDiffersFromTheBlockRegion) {
  char s[5] = {};
  std::memcpy(s, &kNetRingRegionMagic, 4);
  EXPECT_STREQ(s, "ULDN");
  EXPECT_NE(kNetRingRegionMagic, kRingRegionMagic);
}

TEST(NetAbiTest, NetDescriptor) {
  EXPECT_EQ(sizeof(NetDescriptor), 16u);
  EXPECT_EQ(offsetof(NetDescriptor, iova), 0u);
  EXPECT_EQ(offsetof(NetDescriptor, len), 8u);
  EXPECT_EQ(offsetof(NetDescriptor, buffer_id), 12u);
  EXPECT_EQ(offsetof(NetDescriptor, status), 14u);
  EXPECT_EQ(static_cast<uint16_t>(NetStatus::kOk), 0);
  EXPECT_EQ(static_cast<uint16_t>(NetStatus::kDropped), 1);
  EXPECT_EQ(static_cast<uint16_t>(NetStatus::kError), 2);
  EXPECT_EQ(kMinFrameBytes, 14u);
  EXPECT_EQ(kMaxFrameBytes, 1514u);
}

TEST(NetAbiTest, HeaderFields) {
  EXPECT_EQ(sizeof(NetRingRegionHeader), 128u);
  EXPECT_EQ(offsetof(NetRingRegionHeader, tx_capacity), 8u);
  EXPECT_EQ(offsetof(NetRingRegionHeader, rx_capacity), 12u);
  EXPECT_EQ(offsetof(NetRingRegionHeader, descriptor_size), 16u);
  EXPECT_EQ(offsetof(NetRingRegionHeader, ring_count), 20u);
  EXPECT_EQ(offsetof(NetRingRegionHeader, region_size), 24u);
  EXPECT_EQ(offsetof(NetRingRegionHeader, rings), 32u);
  EXPECT_EQ(offsetof(NetRingRegionHeader, reserved), 96u);
  EXPECT_EQ(static_cast<uint32_t>(NetRing::kTxRequest), 0u);
  EXPECT_EQ(static_cast<uint32_t>(NetRing::kTxDone), 1u);
  EXPECT_EQ(static_cast<uint32_t>(NetRing::kRxFree), 2u);
  EXPECT_EQ(static_cast<uint32_t>(NetRing::kRxDone), 3u);
}

TEST(NetAbiTest, LayoutForTx256Rx512) {
  NetRingRegionHeader h = net_ring_region_layout(256, 512);
  EXPECT_EQ(h.magic, kNetRingRegionMagic);
  EXPECT_EQ(h.version, kAbiVersion);
  EXPECT_EQ(h.descriptor_size, 16u);
  EXPECT_EQ(h.ring_count, 4u);
  const uint64_t want_indices[] = {128, 256, 384, 512};
  const uint64_t want_slots[] = {4096, 4096 + 4096, 4096 + 8192, 4096 + 8192 + 8192};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(h.rings[i].indices_offset, want_indices[i]) << i;
    EXPECT_EQ(h.rings[i].slots_offset, want_slots[i]) << i;
  }
  EXPECT_EQ(h.region_size, 4096u + 4096 * 2 + 8192 * 2);
  EXPECT_EQ(check_net_ring_region_header(h, h.region_size), "");
}

TEST(NetAbiTest, LayoutsArePageSizedAndDoNotOverlap) {
  for (uint32_t tx : {2u, 8u, 64u, 1024u, 65536u}) {
    for (uint32_t rx : {2u, 16u, 256u, 4096u, 65536u}) {
      NetRingRegionHeader h = net_ring_region_layout(tx, rx);
      EXPECT_EQ(h.region_size % 4096, 0u);
      uint64_t end = 0;
      for (uint32_t i = 0; i < kNetRingCount; ++i) {
        EXPECT_EQ(h.rings[i].indices_offset % kCacheLine, 0u);
        EXPECT_LE(h.rings[i].indices_offset + sizeof(RingIndices), kNetRingSlotsOffset);
        EXPECT_GE(h.rings[i].slots_offset, std::max<uint64_t>(end, kNetRingSlotsOffset));
        end = h.rings[i].slots_offset +
              uint64_t{net_ring_capacity(h, static_cast<NetRing>(i))} * sizeof(NetDescriptor);
      }
      EXPECT_LE(end, h.region_size);
      EXPECT_GT(end + 4096, h.region_size);
      EXPECT_EQ(check_net_ring_region_header(h, h.region_size), "") << tx << " " << rx;
    }
  }
}

TEST(NetAbiTest, CheckRefusesBadHeaders) {
  const NetRingRegionHeader good = net_ring_region_layout(256, 512);
  const size_t size = good.region_size;
  auto check = [&](auto mutate, size_t memfd_size) {
    NetRingRegionHeader h = good;
    mutate(h);
    return check_net_ring_region_header(h, memfd_size);
  };
  EXPECT_EQ(check([](NetRingRegionHeader&) {}, size + 4096), "");
  EXPECT_EQ(check([](NetRingRegionHeader& h) { h.magic = kRingRegionMagic; }, size),
            "net ring region: bad magic");
  EXPECT_EQ(check([](NetRingRegionHeader& h) { h.version = 9; }, size),
            "net ring region: ABI version 9, expected 1");
  EXPECT_EQ(check([](NetRingRegionHeader& h) { h.tx_capacity = 3; }, size),
            "net ring region: tx capacity 3 is not a power of two in [2, 65536]");
  EXPECT_EQ(check([](NetRingRegionHeader& h) { h.rx_capacity = 131072; }, size),
            "net ring region: rx capacity 131072 is not a power of two in [2, 65536]");
  const std::string mismatch =
      "net ring region: layout fields do not match capacities tx 256 rx 512";
  EXPECT_EQ(check([](NetRingRegionHeader& h) { h.descriptor_size = 32; }, size), mismatch);
  EXPECT_EQ(check([](NetRingRegionHeader& h) { h.ring_count = 2; }, size), mismatch);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(check([i](NetRingRegionHeader& h) { h.rings[i].slots_offset += 16; }, size),
              mismatch);
    EXPECT_EQ(check([i](NetRingRegionHeader& h) { h.rings[i].indices_offset = 0; }, size),
              mismatch);
  }
  // A header from smaller rings relabelled with larger capacities.
  EXPECT_EQ(check(
                [](NetRingRegionHeader& h) {
                  h = net_ring_region_layout(16, 16);
                  h.tx_capacity = 256;
                  h.rx_capacity = 512;
                },
                size),
            mismatch);
  EXPECT_EQ(check([](NetRingRegionHeader&) {}, size - 4096),
            "net ring region: header says " + std::to_string(size) + " bytes, memfd has " +
                std::to_string(size - 4096));
}

TEST(NetAbiTest, ViewRingsAreIndependent) {
  NetRingRegionHeader h = net_ring_region_layout(4, 8);
  std::vector<std::byte> mem(h.region_size);
  NetRingRegionView v{mem.data(), h};
  EXPECT_EQ(reinterpret_cast<std::byte*>(v.slots(NetRing::kRxDone) + 8),
            mem.data() + 4096 + 16 * 24);
  // Push a distinct descriptor into every ring, then read each back from its consumer.
  for (uint32_t i = 0; i < kNetRingCount; ++i) {
    auto p = v.producer(static_cast<NetRing>(i));
    EXPECT_EQ(p.capacity(), i < 2 ? 4u : 8u);
    EXPECT_EQ(p.free_slots(), p.capacity());
    p.stage(0, NetDescriptor{0x1000u * (i + 1), 60 + i, static_cast<uint16_t>(i), 0});
    p.publish(1);
  }
  for (uint32_t i = 0; i < kNetRingCount; ++i) {
    auto c = v.consumer(static_cast<NetRing>(i));
    ASSERT_EQ(c.available(), 1u) << i;
    NetDescriptor d = c.peek(0);
    EXPECT_EQ(d.iova, 0x1000u * (i + 1));
    EXPECT_EQ(d.len, 60 + i);
    EXPECT_EQ(d.buffer_id, i);
  }
}

TEST(NetAbiTest, DriverConfigNicFieldsKeepTheDiskFieldsInPlace) {
  EXPECT_EQ(sizeof(DriverConfig), 64u);
  EXPECT_EQ(offsetof(DriverConfig, device_bytes), 40u);
  EXPECT_EQ(offsetof(DriverConfig, nic_rx_descriptors), 48u);
  EXPECT_EQ(offsetof(DriverConfig, nic_tx_descriptors), 52u);
  EXPECT_EQ(offsetof(DriverConfig, nic_itr_interval), 56u);
  EXPECT_EQ(offsetof(DriverConfig, nic_reserved), 60u);
}

}  // namespace
}  // namespace uldd::abi
