// Tests of MemoryCorruptionRequest: parsing, and the flips against real
// layouts with the readers that must notice them — the ring consumer reports
// an impossible tail as corrupt (the shim's protocol-violation check), a
// descriptor differs in exactly the chosen bit, and read_newest_checkpoint
// refuses a checkpoint whose newest slot was hit (no warm resume).
#include "faultinject/memory_corruption_request.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "abi/checkpoint_reader.h"
#include "abi/spsc_ring.h"
#include "common/crc32c.h"

namespace uldd::faultinject {
namespace {

using Target = MemoryCorruptionRequest::Target;

TEST(MemoryCorruptionRequest, ParsesWithDefaults) {
  auto r = parse_memory_corruption_request("corrupt-ring", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target, Target::kRing);
  EXPECT_EQ(r->ring, "");  // the device's default
  EXPECT_FALSE(r->descriptor);
  EXPECT_FALSE(r->bit.has_value());
  r = parse_memory_corruption_request(
      "corrupt-ring",
      {{"ring", "request"}, {"field", "descriptor"}, {"bit", "200"}, {"seed", "9"}});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->ring, "request");
  EXPECT_TRUE(r->descriptor);
  EXPECT_EQ(*r->bit, 200u);
  EXPECT_EQ(r->seed, 9u);
  r = parse_memory_corruption_request("corrupt-checkpoint", {{"bit", "5"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target, Target::kCheckpoint);
  EXPECT_EQ(parse_memory_corruption_request("media-error", {}).error().code, ENOENT);
}

TEST(MemoryCorruptionRequest, BadParametersAreNamed) {
  auto r = parse_memory_corruption_request("corrupt-ring", {{"bit", "32"}});  // index: 0..31
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_NE(r.error().message.find("'bit'"), std::string::npos) << r.error().message;
  EXPECT_FALSE(
      parse_memory_corruption_request("corrupt-ring", {{"field", "descriptor"}, {"bit", "256"}})
          .ok());
  EXPECT_FALSE(parse_memory_corruption_request("corrupt-ring", {{"ring", "both"}}).ok());
  EXPECT_FALSE(parse_memory_corruption_request("corrupt-checkpoint", {{"ring", "request"}}).ok());
  EXPECT_FALSE(parse_memory_corruption_request("corrupt-checkpoint", {{"seed", "-1"}}).ok());
}

struct Rings {
  explicit Rings(uint32_t capacity) {
    abi::RingRegionHeader h = abi::ring_region_layout(capacity);
    memory.assign(h.region_size, std::byte{0});
    std::memcpy(memory.data(), &h, sizeof h);
    view = abi::RingRegionView{memory.data(), h};
  }
  std::vector<std::byte> memory;
  abi::RingRegionView view{};
};

TEST(MemoryCorruptionRequest, RingIndexFlipIsAnImpossibleTail) {
  Rings rings(8);
  abi::RingIndices* c = rings.view.completion_indices();
  c->producer.tail = 5;
  c->consumer.head = 3;
  abi::SpscConsumer<abi::BlockDescriptor> consumer(c, rings.view.completion_slots(), 8, 3);
  bool corrupt = false;
  EXPECT_EQ(consumer.available(&corrupt), 2u);
  EXPECT_FALSE(corrupt);
  auto r = parse_memory_corruption_request("corrupt-ring", {{"bit", "20"}}).value();
  auto done = corrupt_disk_ring(rings.view, r);
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_NE(done->find("completion ring producer tail: bit 20"), std::string::npos) << *done;
  EXPECT_EQ(c->producer.tail, 5u | (1u << 20));
  EXPECT_EQ(consumer.available(&corrupt), 0u);
  EXPECT_TRUE(corrupt);  // what the shim turns into a protocol violation
  EXPECT_EQ(rings.view.request_indices()->producer.tail, 0u);  // the other ring is untouched
}

TEST(MemoryCorruptionRequest, DescriptorFlipHitsTheSlotWrittenLastInOneBit) {
  Rings rings(8);
  abi::RingIndices* q = rings.view.request_indices();
  q->producer.tail = 10;  // slot (10 - 1) % 8 = 1 was written last
  abi::BlockDescriptor* slots = rings.view.request_slots();
  slots[1] = abi::BlockDescriptor{7, 1, 0, 4096, 0, 0x10000, 64};
  const std::vector<std::byte> before = rings.memory;
  auto r = parse_memory_corruption_request(
               "corrupt-ring", {{"ring", "request"}, {"field", "descriptor"}, {"seed", "42"}})
               .value();
  auto done = corrupt_disk_ring(rings.view, r);
  ASSERT_TRUE(done.ok());
  EXPECT_NE(done->find("descriptor in slot 1"), std::string::npos) << *done;
  int changed_bits = 0;
  size_t where = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    auto x = std::to_integer<uint8_t>(before[i] ^ rings.memory[i]);
    if (x != 0) where = i;
    changed_bits += __builtin_popcount(x);
  }
  EXPECT_EQ(changed_bits, 1);
  const size_t slot_offset = reinterpret_cast<std::byte*>(&slots[1]) - rings.memory.data();
  EXPECT_GE(where, slot_offset);
  EXPECT_LT(where, slot_offset + sizeof(abi::BlockDescriptor));
  // The same seed picks the same bit: flipping again restores the ring.
  ASSERT_TRUE(corrupt_disk_ring(rings.view, r).ok());
  EXPECT_EQ(rings.memory, before);
}

TEST(MemoryCorruptionRequest, RingNamesBelongToTheirDevice) {
  Rings disk(8);
  auto nic_name = parse_memory_corruption_request("corrupt-ring", {{"ring", "tx-done"}});
  ASSERT_TRUE(nic_name.ok()) << nic_name.error().describe();
  auto refused = corrupt_disk_ring(disk.view, *nic_name);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("'tx-done' is a NIC ring"), std::string::npos)
      << refused.error().message;
}

struct NetRings {
  NetRings() {
    abi::NetRingRegionHeader h = abi::net_ring_region_layout(8, 16);
    memory.assign(h.region_size, std::byte{0});
    std::memcpy(memory.data(), &h, sizeof h);
    view = abi::NetRingRegionView{memory.data(), h};
  }
  std::vector<std::byte> memory;
  abi::NetRingRegionView view{};
};

TEST(MemoryCorruptionRequest, NicRingIndexFlipIsAnImpossibleTail) {
  NetRings rings;
  abi::RingIndices* rx = rings.view.indices(abi::NetRing::kRxDone);
  rx->producer.tail = 4;
  auto consumer = rings.view.consumer(abi::NetRing::kRxDone, 2);
  bool corrupt = false;
  EXPECT_EQ(consumer.available(&corrupt), 2u);
  auto r = parse_memory_corruption_request("corrupt-ring", {{"ring", "rx-done"}, {"bit", "9"}});
  ASSERT_TRUE(r.ok());
  auto done = corrupt_net_ring(rings.view, *r);
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_NE(done->find("rx-done ring producer tail: bit 9"), std::string::npos) << *done;
  EXPECT_EQ(rx->producer.tail, 4u | (1u << 9));
  EXPECT_EQ(consumer.available(&corrupt), 0u);
  EXPECT_TRUE(corrupt);  // what the shim turns into a protocol violation
  for (auto other : {abi::NetRing::kTxRequest, abi::NetRing::kTxDone, abi::NetRing::kRxFree})
    EXPECT_EQ(rings.view.indices(other)->producer.tail, 0u);
}

TEST(MemoryCorruptionRequest, NicDescriptorFlipStaysInTheSlotWrittenLast) {
  NetRings rings;
  rings.view.indices(abi::NetRing::kTxRequest)->producer.tail = 11;  // slot 2 of 8
  const std::vector<std::byte> before = rings.memory;
  auto r = parse_memory_corruption_request(
               "corrupt-ring", {{"ring", "tx-request"}, {"field", "descriptor"}, {"seed", "3"}})
               .value();
  auto done = corrupt_net_ring(rings.view, r);
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_NE(done->find("tx-request ring descriptor in slot 2"), std::string::npos) << *done;
  const size_t slot = reinterpret_cast<std::byte*>(&rings.view.slots(abi::NetRing::kTxRequest)[2]) -
                      rings.memory.data();
  int changed = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    auto x = std::to_integer<uint8_t>(before[i] ^ rings.memory[i]);
    if (x == 0) continue;
    changed += __builtin_popcount(x);
    EXPECT_GE(i, slot);
    EXPECT_LT(i, slot + sizeof(abi::NetDescriptor));
  }
  EXPECT_EQ(changed, 1);
  // A NetDescriptor has 128 bits; a disk ring name is refused.
  auto wide = parse_memory_corruption_request(
      "corrupt-ring", {{"ring", "tx-done"}, {"field", "descriptor"}, {"bit", "200"}});
  ASSERT_TRUE(wide.ok());
  EXPECT_FALSE(corrupt_net_ring(rings.view, *wide).ok());
  auto disk_name = parse_memory_corruption_request("corrupt-ring", {{"ring", "completion"}});
  auto refused = corrupt_net_ring(rings.view, *disk_name);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("is a disk ring"), std::string::npos);
  // Without ring= the seed picks the ring: the same seed, the same ring.
  auto seeded = parse_memory_corruption_request("corrupt-ring", {{"seed", "77"}}).value();
  auto a = corrupt_net_ring(rings.view, seeded);
  auto b = corrupt_net_ring(rings.view, seeded);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

void commit(abi::CheckpointSlot& s, uint64_t epoch, uint8_t fill) {
  s.magic = abi::kCheckpointMagic;
  s.version = abi::kAbiVersion;
  s.device_class = abi::kCheckpointClassNvme;
  s.payload_size = 256;
  std::memset(s.payload, fill, 256);
  s.checksum = crc32c(s.payload, 256);
  s.epoch = epoch;
}

TEST(MemoryCorruptionRequest, CheckpointFlipMakesTheNextDriverRefuseWarmResume) {
  auto region = std::make_unique<abi::CheckpointRegion>();
  std::memset(region.get(), 0, sizeof *region);
  auto r = parse_memory_corruption_request("corrupt-checkpoint", {{"seed", "3"}}).value();
  EXPECT_EQ(corrupt_checkpoint(*region, r).error().code, ENOENT);  // nothing written yet
  commit(region->slots[0], 4, 0x11);
  commit(region->slots[1], 5, 0x22);
  std::vector<uint8_t> out(256);
  ASSERT_TRUE(
      abi::read_newest_checkpoint(*region, abi::kCheckpointClassNvme, 1, 256, out.data()).ok());
  auto done = corrupt_checkpoint(*region, r);
  ASSERT_TRUE(done.ok()) << done.error().describe();
  EXPECT_NE(done->find("slot 1 (epoch 5)"), std::string::npos) << *done;
  auto read = abi::read_newest_checkpoint(*region, abi::kCheckpointClassNvme, 1, 256, out.data());
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("damaged"), std::string::npos) << read.error().message;
  auto too_far = parse_memory_corruption_request("corrupt-checkpoint", {{"bit", "2048"}}).value();
  EXPECT_EQ(corrupt_checkpoint(*region, too_far).error().code, EINVAL);  // payload is 256 bytes
}

}  // namespace
}  // namespace uldd::faultinject
