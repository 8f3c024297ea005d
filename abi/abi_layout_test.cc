// Runtime checks of the shared-memory ABI layouts. The headers pin sizes and a
// few offsets with static_asserts; these tests pin every field offset the
// other side of the ABI relies on, the ring region layout for the capacities
// we use, and the refusal paths of check_ring_region_header (which runs on
// bytes an untrusted process may have written).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "abi/abi_version.h"
#include "abi/block_descriptor.h"
#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/driver_fds.h"
#include "abi/ring_region.h"
#include "abi/spsc_ring.h"

namespace uldd::abi {
namespace {

std::string magic_text(uint32_t magic) {
  char s[5] = {};
  std::memcpy(s, &magic, 4);  // the magics read as ASCII on a little-endian host
  return s;
}

TEST(AbiLayoutTest, MagicsSpellTheirRegion) {
  EXPECT_EQ(magic_text(kRingRegionMagic), "ULDR");
  EXPECT_EQ(magic_text(kCheckpointMagic), "ULDC");
  EXPECT_EQ(magic_text(kControlBlockMagic), "ULDB");
  EXPECT_EQ(kAbiVersion, 1u);
}

TEST(AbiLayoutTest, BlockDescriptor) {
  EXPECT_EQ(sizeof(BlockDescriptor), 32u);
  EXPECT_EQ(offsetof(BlockDescriptor, tag), 0u);
  EXPECT_EQ(offsetof(BlockDescriptor, op), 4u);
  EXPECT_EQ(offsetof(BlockDescriptor, status), 6u);
  EXPECT_EQ(offsetof(BlockDescriptor, len), 8u);
  EXPECT_EQ(offsetof(BlockDescriptor, flags), 12u);
  EXPECT_EQ(offsetof(BlockDescriptor, iova), 16u);
  EXPECT_EQ(offsetof(BlockDescriptor, lba), 24u);
  EXPECT_EQ(static_cast<uint16_t>(BlockOp::kRead), 1);
  EXPECT_EQ(static_cast<uint16_t>(BlockOp::kFlush), 3);
  EXPECT_EQ(static_cast<uint16_t>(BlockStatus::kDeviceFailed), 4);
}

TEST(AbiLayoutTest, RingIndicesPutEachWriterOnItsOwnCacheLine) {
  EXPECT_EQ(sizeof(RingIndices), 128u);
  EXPECT_EQ(alignof(RingIndices), 64u);
  EXPECT_EQ(offsetof(RingIndices, producer), 0u);
  EXPECT_EQ(offsetof(RingIndices, consumer), 64u);
  EXPECT_EQ(offsetof(RingProducerLine, tail), 0u);
  EXPECT_EQ(offsetof(RingProducerLine, producer_needs_wakeup), 4u);
  EXPECT_EQ(offsetof(RingConsumerLine, head), 0u);
  EXPECT_EQ(offsetof(RingConsumerLine, consumer_needs_wakeup), 4u);
}

TEST(AbiLayoutTest, RingRegionHeaderFields) {
  EXPECT_EQ(sizeof(RingRegionHeader), 64u);
  EXPECT_EQ(offsetof(RingRegionHeader, magic), 0u);
  EXPECT_EQ(offsetof(RingRegionHeader, version), 4u);
  EXPECT_EQ(offsetof(RingRegionHeader, capacity), 8u);
  EXPECT_EQ(offsetof(RingRegionHeader, descriptor_size), 12u);
  EXPECT_EQ(offsetof(RingRegionHeader, request_indices_offset), 16u);
  EXPECT_EQ(offsetof(RingRegionHeader, completion_indices_offset), 24u);
  EXPECT_EQ(offsetof(RingRegionHeader, request_slots_offset), 32u);
  EXPECT_EQ(offsetof(RingRegionHeader, completion_slots_offset), 40u);
  EXPECT_EQ(offsetof(RingRegionHeader, region_size), 48u);
  EXPECT_EQ(offsetof(RingRegionHeader, reserved), 56u);
}

struct LayoutCase {
  uint32_t capacity;
  uint64_t completion_slots_offset;
  uint64_t region_size;
};

void PrintTo(const LayoutCase& c, std::ostream* os) {
  *os << "capacity " << c.capacity;
}

class RingRegionLayoutTest : public testing::TestWithParam<LayoutCase> {};

TEST_P(RingRegionLayoutTest, MatchesTheDocumentedLayout) {
  const LayoutCase& c = GetParam();
  RingRegionHeader h = ring_region_layout(c.capacity);
  EXPECT_EQ(h.magic, kRingRegionMagic);
  EXPECT_EQ(h.version, kAbiVersion);
  EXPECT_EQ(h.capacity, c.capacity);
  EXPECT_EQ(h.descriptor_size, 32u);
  EXPECT_EQ(h.request_indices_offset, 64u);
  EXPECT_EQ(h.completion_indices_offset, 192u);
  EXPECT_EQ(h.request_slots_offset, 4096u);
  EXPECT_EQ(h.completion_slots_offset, c.completion_slots_offset);
  EXPECT_EQ(h.region_size, c.region_size);
  EXPECT_EQ(h.reserved, 0u);
  // Whole pages, index lines cache-aligned, and nothing overlaps.
  EXPECT_EQ(h.region_size % 4096, 0u);
  EXPECT_EQ(h.request_indices_offset % kCacheLine, 0u);
  EXPECT_EQ(h.completion_indices_offset % kCacheLine, 0u);
  EXPECT_LE(h.completion_indices_offset + sizeof(RingIndices), h.request_slots_offset);
  EXPECT_GE(h.completion_slots_offset, h.request_slots_offset + uint64_t{c.capacity} * 32);
  EXPECT_LE(h.completion_slots_offset + uint64_t{c.capacity} * 32, h.region_size);
  EXPECT_EQ(check_ring_region_header(h, h.region_size), "");
}

INSTANTIATE_TEST_SUITE_P(Capacities, RingRegionLayoutTest,
                         testing::Values(LayoutCase{2, 4096 + 64, 8192},
                                         LayoutCase{64, 4096 + 2048, 8192},
                                         LayoutCase{128, 4096 + 4096, 12288},
                                         LayoutCase{256, 4096 + 8192, 20480},
                                         LayoutCase{4096, 4096 + 131072, 4096 + 262144},
                                         LayoutCase{65536, 4096 + 2097152, 4096 + 4194304}),
                         [](const testing::TestParamInfo<LayoutCase>& p) {
                           return "Capacity" + std::to_string(p.param.capacity);
                         });

TEST(AbiLayoutTest, ValidRingCapacity) {
  for (uint32_t c : {0u, 1u, 3u, 6u, 100u, 131072u, 0x80000000u, 0xFFFFFFFFu})
    EXPECT_FALSE(valid_ring_capacity(c)) << c;
  for (uint32_t c : {2u, 4u, 256u, 65536u}) EXPECT_TRUE(valid_ring_capacity(c)) << c;
}

TEST(AbiLayoutTest, CheckRingRegionHeaderRefusesBadHeaders) {
  const RingRegionHeader good = ring_region_layout(256);
  const size_t size = good.region_size;
  auto check = [&](auto mutate, size_t memfd_size) {
    RingRegionHeader h = good;
    mutate(h);
    return check_ring_region_header(h, memfd_size);
  };
  EXPECT_EQ(check([](RingRegionHeader&) {}, size), "");
  EXPECT_EQ(check([](RingRegionHeader&) {}, size + 4096), "");  // a larger memfd is fine
  EXPECT_EQ(check([](RingRegionHeader& h) { h.magic = kCheckpointMagic; }, size),
            "ring region: bad magic");
  EXPECT_EQ(check([](RingRegionHeader& h) { h.version = 2; }, size),
            "ring region: ABI version 2, expected 1");
  for (uint32_t cap : {0u, 1u, 3u, 131072u}) {
    EXPECT_EQ(
        check([cap](RingRegionHeader& h) { h.capacity = cap; }, size),
        "ring region: capacity " + std::to_string(cap) + " is not a power of two in [2, 65536]");
  }
  const std::string mismatch = "ring region: layout fields do not match capacity 256";
  EXPECT_EQ(check([](RingRegionHeader& h) { h.descriptor_size = 16; }, size), mismatch);
  EXPECT_EQ(check([](RingRegionHeader& h) { h.request_indices_offset = 0; }, size), mismatch);
  EXPECT_EQ(check([](RingRegionHeader& h) { h.completion_indices_offset = 64; }, size), mismatch);
  EXPECT_EQ(check([](RingRegionHeader& h) { h.request_slots_offset = 8192; }, size), mismatch);
  EXPECT_EQ(check([](RingRegionHeader& h) { h.completion_slots_offset -= 32; }, size), mismatch);
  EXPECT_EQ(check([](RingRegionHeader& h) { h.region_size += 4096; }, size + 4096), mismatch);
  // A header from a smaller ring, relabelled with a larger capacity: the slot
  // arrays would run past the memfd if it were believed.
  auto relabel = [](RingRegionHeader& h) {
    h = ring_region_layout(64);
    h.capacity = 256;
  };
  EXPECT_EQ(check(relabel, size), mismatch);
  EXPECT_EQ(check([](RingRegionHeader&) {}, size - 4096),
            "ring region: header says 20480 bytes, memfd has 16384");
  EXPECT_EQ(check([](RingRegionHeader&) {}, 0),
            "ring region: header says 20480 bytes, memfd has 0");
}

TEST(AbiLayoutTest, RingRegionViewPointsWhereTheHeaderSays) {
  alignas(4096) static std::byte region[20480];
  RingRegionView v{region, ring_region_layout(256)};
  EXPECT_EQ(reinterpret_cast<std::byte*>(v.request_indices()), region + 64);
  EXPECT_EQ(reinterpret_cast<std::byte*>(v.completion_indices()), region + 192);
  EXPECT_EQ(reinterpret_cast<std::byte*>(v.request_slots()), region + 4096);
  EXPECT_EQ(reinterpret_cast<std::byte*>(v.completion_slots()), region + 4096 + 256 * 32);
  EXPECT_EQ(reinterpret_cast<std::byte*>(v.completion_slots() + 256), region + sizeof region);
}

TEST(AbiLayoutTest, ControlBlockLines) {
  EXPECT_EQ(sizeof(ControlBlock), 4096u);
  EXPECT_EQ(offsetof(ControlBlock, magic), 0u);
  EXPECT_EQ(offsetof(ControlBlock, version), 4u);
  EXPECT_EQ(offsetof(ControlBlock, config), 64u);   // line 1, supervisor
  EXPECT_EQ(offsetof(ControlBlock, status), 192u);  // lines 3-4, driver
  EXPECT_EQ(offsetof(ControlBlock, faults), 320u);  // line 5+, supervisor
  EXPECT_EQ(offsetof(ControlBlock, reserved2), 448u);
  EXPECT_EQ(offsetof(ControlBlock, reserved2) + sizeof(ControlBlock::reserved2), 4096u);

  EXPECT_EQ(sizeof(DriverConfig), 64u);
  EXPECT_EQ(offsetof(DriverConfig, io_queue_count), 0u);
  EXPECT_EQ(offsetof(DriverConfig, io_queue_depth), 4u);
  EXPECT_EQ(offsetof(DriverConfig, irq_coalesce_threshold), 8u);
  EXPECT_EQ(offsetof(DriverConfig, irq_coalesce_time_us), 12u);
  EXPECT_EQ(offsetof(DriverConfig, heartbeat_interval_us), 16u);
  EXPECT_EQ(offsetof(DriverConfig, max_transfer), 20u);
  EXPECT_EQ(offsetof(DriverConfig, dma_driver_area_size), 24u);
  EXPECT_EQ(offsetof(DriverConfig, dma_buffer_area_offset), 32u);
  EXPECT_EQ(offsetof(DriverConfig, device_bytes), 40u);

  EXPECT_EQ(sizeof(DriverStatus), 128u);
  EXPECT_EQ(offsetof(DriverStatus, heartbeat), 0u);
  EXPECT_EQ(offsetof(DriverStatus, state), 8u);
  EXPECT_EQ(offsetof(DriverStatus, pid), 12u);
  EXPECT_EQ(offsetof(DriverStatus, requests_done), 16u);
  EXPECT_EQ(offsetof(DriverStatus, interrupts), 24u);
  EXPECT_EQ(offsetof(DriverStatus, doorbells), 32u);
  EXPECT_EQ(offsetof(DriverStatus, batches), 40u);
  EXPECT_EQ(offsetof(DriverStatus, device_errors), 48u);
  EXPECT_EQ(offsetof(DriverStatus, rejected), 56u);
  EXPECT_EQ(offsetof(DriverStatus, last_error), 64u);

  EXPECT_EQ(sizeof(FaultPointArming), 16u);
  EXPECT_EQ(offsetof(FaultPointArming, point), 0u);
  EXPECT_EQ(offsetof(FaultPointArming, after), 4u);
  EXPECT_EQ(offsetof(FaultPointArming, generation), 8u);
  EXPECT_EQ(static_cast<uint32_t>(DriverState::kFailed), 4u);
}

TEST(AbiLayoutTest, ControlBlockSharedAccessors) {
  static ControlBlock cb{};
  store_shared(cb.status.heartbeat, uint64_t{42});
  store_shared(cb.status.state, static_cast<uint32_t>(DriverState::kRunning));
  EXPECT_EQ(load_shared(cb.status.heartbeat), 42u);
  EXPECT_EQ(load_shared(cb.status.state), 2u);
  auto* raw = reinterpret_cast<const std::byte*>(&cb);
  uint64_t hb;
  std::memcpy(&hb, raw + 192, sizeof hb);  // where another process looks for it
  EXPECT_EQ(hb, 42u);
}

TEST(AbiLayoutTest, CheckpointSlots) {
  EXPECT_EQ(sizeof(CheckpointSlot), 16384u);
  EXPECT_EQ(offsetof(CheckpointSlot, magic), 0u);
  EXPECT_EQ(offsetof(CheckpointSlot, version), 4u);
  EXPECT_EQ(offsetof(CheckpointSlot, epoch), 8u);
  EXPECT_EQ(offsetof(CheckpointSlot, checksum), 16u);
  EXPECT_EQ(offsetof(CheckpointSlot, payload_size), 20u);
  EXPECT_EQ(offsetof(CheckpointSlot, device_class), 24u);
  EXPECT_EQ(offsetof(CheckpointSlot, reserved), 28u);
  EXPECT_EQ(offsetof(CheckpointSlot, payload), 64u);
  EXPECT_EQ(offsetof(CheckpointSlot, payload) + kCheckpointPayloadMax, 16384u);
  EXPECT_EQ(sizeof(CheckpointRegion), 32768u);
  EXPECT_EQ(offsetof(CheckpointRegion, slots), 0u);
  EXPECT_EQ(sizeof(CheckpointRegion::slots[0]), 16384u);  // slot 1 starts on its own page
  EXPECT_EQ(kCheckpointClassNvme, 1u);
  EXPECT_EQ(kCheckpointClassE1000, 2u);
}

TEST(AbiLayoutTest, DriverFdNumbers) {
  EXPECT_EQ(kFdControlBlock, 3);
  EXPECT_EQ(kFdRingRegion, 4);
  EXPECT_EQ(kFdCheckpoint, 5);
  EXPECT_EQ(kFdDriverWake, 6);
  EXPECT_EQ(kFdShimWake, 7);
  EXPECT_EQ(kFdDma, 8);
  EXPECT_EQ(kFdUioBar, 9);
  EXPECT_EQ(kFdUioIrq, 10);
  EXPECT_EQ(kFdUioAux, 11);
  EXPECT_EQ(kDriverFdCount, 12);
  EXPECT_EQ(kFdStandbyRelease, 12);
  EXPECT_EQ(kFdDmaTable, 13);
}

}  // namespace
}  // namespace uldd::abi
