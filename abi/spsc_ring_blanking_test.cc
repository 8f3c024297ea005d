// SpscProducer::free_slots_blanking: every slot the consumer released is
// overwritten with the blank descriptor, over many laps, while slots in
// [head, tail) and slots staged but not yet published are left alone; a head
// that moves back or jumps past the tail blanks nothing.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "abi/block_descriptor.h"
#include "abi/spsc_ring.h"

namespace uldd::abi {
namespace {

constexpr uint32_t kCapacity = 8;

BlockDescriptor desc(uint32_t tag) {
  BlockDescriptor d{};
  d.tag = tag;
  d.op = static_cast<uint16_t>(BlockOp::kWrite);
  d.len = 4096;
  d.iova = uint64_t{tag} * 4096;
  d.lba = uint64_t{tag} * 8;
  return d;
}

bool is_blank(const BlockDescriptor& d) {
  BlockDescriptor z{};
  return std::memcmp(&d, &z, sizeof d) == 0;
}

class SpscRingBlankingTest : public testing::Test {
 protected:
  void SetUp() override {
    // Garbage in every slot, as an old lap would leave it.
    for (uint32_t i = 0; i < kCapacity; ++i) slots_[i] = desc(1000 + i);
    producer_ = SpscProducer<BlockDescriptor>(&indices_, slots_.data(), kCapacity, 0);
    consumer_ = SpscConsumer<BlockDescriptor>(&indices_, slots_.data(), kCapacity, 0);
  }
  uint32_t space() { return producer_.free_slots_blanking(BlockDescriptor{}, &corrupt_); }
  // Slots outside [head, tail) as the consumer would read them past the tail.
  void expect_blank_past_tail(uint32_t staged_unpublished = 0) {
    uint32_t ready = consumer_.available();
    for (uint32_t i = ready + staged_unpublished; i < kCapacity; ++i)
      EXPECT_TRUE(is_blank(consumer_.peek(i))) << "slot head+" << i << " (ready " << ready << ")";
    for (uint32_t i = 0; i < ready; ++i)
      EXPECT_FALSE(is_blank(consumer_.peek(i))) << "published slot head+" << i << " was blanked";
  }

  alignas(64) RingIndices indices_{};
  std::array<BlockDescriptor, kCapacity> slots_{};
  SpscProducer<BlockDescriptor> producer_;
  SpscConsumer<BlockDescriptor> consumer_;
  bool corrupt_ = false;
};

TEST_F(SpscRingBlankingTest, FirstLookBlanksAFreshRing) {
  EXPECT_EQ(space(), kCapacity);
  for (const BlockDescriptor& d : slots_) EXPECT_TRUE(is_blank(d));
}

TEST_F(SpscRingBlankingTest, ReleasedSlotsAreBlankOverManyLaps) {
  uint32_t tag = 1;
  for (uint32_t round = 0; round < 40; ++round) {
    uint32_t n = 1 + round % kCapacity;  // batch sizes 1..8, so laps wrap at every offset
    ASSERT_GE(space(), n);
    for (uint32_t i = 0; i < n; ++i) producer_.stage(i, desc(tag++));
    producer_.publish(n);
    uint32_t take = consumer_.available() - round % 2;  // sometimes leave one in the ring
    consumer_.release(take);
    space();
    expect_blank_past_tail();
  }
  EXPECT_FALSE(corrupt_);
  EXPECT_GT(producer_.tail(), 4 * kCapacity);
}

TEST_F(SpscRingBlankingTest, StagedButUnpublishedSlotsSurviveALook) {
  ASSERT_EQ(space(), kCapacity);
  producer_.stage(0, desc(1));
  producer_.stage(1, desc(2));
  producer_.publish(2);
  consumer_.release(2);
  ASSERT_EQ(space(), kCapacity);  // blanks the two released slots
  for (uint32_t i = 0; i < kCapacity; ++i) producer_.stage(i, desc(10 + i));
  // A look between stage and publish (the shim never does this, but it must
  // not destroy what was staged): the head has not moved, nothing to blank.
  ASSERT_EQ(space(), kCapacity);
  producer_.publish(kCapacity);
  for (uint32_t i = 0; i < kCapacity; ++i) EXPECT_EQ(consumer_.peek(i).tag, 10 + i);
}

TEST_F(SpscRingBlankingTest, HeadMovingBackOrPastTheTailBlanksNothing) {
  ASSERT_EQ(space(), kCapacity);
  for (uint32_t i = 0; i < 4; ++i) producer_.stage(i, desc(1 + i));
  producer_.publish(4);
  consumer_.release(2);
  space();
  // The consumer scribbles its head back by 2: those slots are claimed again,
  // left alone, and nothing is blanked.
  ring_detail::store(indices_.consumer.head, 0, std::memory_order_release);
  EXPECT_EQ(space(), kCapacity - 4);
  EXPECT_FALSE(corrupt_);
  EXPECT_EQ(slots_[2].tag, 3u);
  EXPECT_EQ(slots_[3].tag, 4u);
  // A head past the tail is a protocol violation: no space, nothing blanked.
  ring_detail::store(indices_.consumer.head, 6, std::memory_order_release);
  EXPECT_EQ(space(), 0u);
  EXPECT_TRUE(corrupt_);
  EXPECT_EQ(slots_[2].tag, 3u);
  EXPECT_EQ(slots_[3].tag, 4u);
}

}  // namespace
}  // namespace uldd::abi
