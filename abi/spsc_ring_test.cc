// Single-threaded tests of SpscProducer / SpscConsumer: fill levels, the
// wrap of the free-running 32-bit indices, refusal of impossible peer indices,
// and both halves of the need-wakeup handshake. The cross-process behaviour
// under load is spsc_ring_stress_test.
#include "abi/spsc_ring.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "abi/block_descriptor.h"

namespace uldd::abi {
namespace {

constexpr uint32_t kCapacity = 8;

class SpscRingTest : public testing::Test {
 protected:
  // Both sides attached at `start`, as the supervisor would set up a ring
  // whose indices already ran that far.
  void attach(uint32_t start) {
    indices_.producer.tail = start;
    indices_.consumer.head = start;
    producer_ = SpscProducer<BlockDescriptor>(&indices_, slots_.data(), kCapacity, start);
    consumer_ = SpscConsumer<BlockDescriptor>(&indices_, slots_.data(), kCapacity, start);
  }
  void SetUp() override { attach(0); }

  static BlockDescriptor desc(uint32_t tag) {
    BlockDescriptor d{};
    d.tag = tag;
    d.op = static_cast<uint16_t>(BlockOp::kRead);
    d.len = 4096;
    d.iova = uint64_t{tag} * 4096;
    d.lba = uint64_t{tag} * 8 + 1;
    return d;
  }

  // Pushes tags [first, first + n) as one batch; returns publish()'s answer.
  bool push(uint32_t first, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) producer_.stage(i, desc(first + i));
    return producer_.publish(n);
  }

  alignas(64) RingIndices indices_{};
  std::array<BlockDescriptor, kCapacity> slots_{};
  SpscProducer<BlockDescriptor> producer_;
  SpscConsumer<BlockDescriptor> consumer_;
};

TEST_F(SpscRingTest, EmptyThenFullThenDrained) {
  bool corrupt = false;
  EXPECT_EQ(consumer_.available(&corrupt), 0u);
  EXPECT_EQ(producer_.free_slots(&corrupt), kCapacity);
  EXPECT_EQ(producer_.capacity(), kCapacity);

  // Staged descriptors are invisible until published.
  producer_.stage(0, desc(100));
  EXPECT_EQ(consumer_.available(), 0u);
  EXPECT_FALSE(producer_.publish(1));
  EXPECT_EQ(consumer_.available(), 1u);
  EXPECT_EQ(indices_.producer.tail, 1u);

  push(101, kCapacity - 1);
  EXPECT_EQ(producer_.free_slots(&corrupt), 0u);  // exactly full is not corrupt
  EXPECT_EQ(consumer_.available(&corrupt), kCapacity);
  EXPECT_FALSE(corrupt);
  for (uint32_t i = 0; i < kCapacity; ++i) EXPECT_EQ(consumer_.peek(i).tag, 100 + i);

  EXPECT_FALSE(consumer_.release(3));
  EXPECT_EQ(indices_.consumer.head, 3u);
  EXPECT_EQ(producer_.free_slots(), 3u);
  EXPECT_EQ(consumer_.available(), kCapacity - 3);
  EXPECT_EQ(consumer_.peek(0).tag, 103u);
  consumer_.release(kCapacity - 3);
  EXPECT_EQ(consumer_.available(), 0u);
  EXPECT_EQ(producer_.free_slots(), kCapacity);
}

TEST_F(SpscRingTest, PeekReturnsACopy) {
  push(7, 1);
  BlockDescriptor d = consumer_.peek(0);
  slots_[0].len = 0xdead;  // the peer changes the slot after we copied it
  EXPECT_EQ(d.len, 4096u);
  EXPECT_EQ(d.lba, 57u);
}

TEST_F(SpscRingTest, IndicesWrapAround32Bits) {
  attach(0xFFFFFFF0u);
  uint32_t next_push = 0, next_pop = 0;
  // 20 rounds of 5 in, 5 out move both indices from 2^32 - 16 past 2^32.
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(producer_.free_slots(), kCapacity);
    push(next_push, 5);
    next_push += 5;
    bool corrupt = false;
    ASSERT_EQ(consumer_.available(&corrupt), 5u);
    ASSERT_FALSE(corrupt);
    for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(consumer_.peek(i).tag, next_pop + i);
    consumer_.release(5);
    next_pop += 5;
  }
  EXPECT_EQ(producer_.tail(), 0xFFFFFFF0u + 100);  // = 84 after the wrap
  EXPECT_EQ(consumer_.head(), 84u);
  EXPECT_EQ(indices_.producer.tail, 84u);

  // Straddling the wrap: head before 2^32, tail after it.
  attach(0xFFFFFFFCu);
  push(0, 6);
  EXPECT_EQ(indices_.producer.tail, 2u);
  bool corrupt = false;
  EXPECT_EQ(consumer_.available(&corrupt), 6u);
  EXPECT_EQ(producer_.free_slots(&corrupt), 2u);
  EXPECT_FALSE(corrupt);
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(consumer_.peek(i).tag, i);
  // Slot = index & mask, so the batch wrapped in the slot array too.
  EXPECT_EQ(slots_[(0xFFFFFFFCu) & (kCapacity - 1)].tag, 0u);
  EXPECT_EQ(slots_[1].tag, 5u);
}

TEST_F(SpscRingTest, ConsumerRefusesTailBeyondCapacity) {
  attach(0xFFFFFFF0u);
  bool corrupt = false;
  indices_.producer.tail = 0xFFFFFFF0u + kCapacity;  // full: fine
  EXPECT_EQ(consumer_.available(&corrupt), kCapacity);
  EXPECT_FALSE(corrupt);
  indices_.producer.tail = 0xFFFFFFF0u + kCapacity + 1;  // claims more than fits
  EXPECT_EQ(consumer_.available(&corrupt), 0u);
  EXPECT_TRUE(corrupt);
  corrupt = false;
  indices_.producer.tail = 0xFFFFFFF0u - 1;  // moved backwards behind our head
  EXPECT_EQ(consumer_.available(&corrupt), 0u);
  EXPECT_TRUE(corrupt);
  EXPECT_EQ(consumer_.available(), 0u);  // without an out-parameter, still 0
}

TEST_F(SpscRingTest, ProducerRefusesHeadBeyondTail) {
  attach(0xFFFFFFF0u);
  push(0, 3);
  bool corrupt = false;
  indices_.consumer.head = producer_.tail() + 1;  // took one never published
  EXPECT_EQ(producer_.free_slots(&corrupt), 0u);
  EXPECT_TRUE(corrupt);
  corrupt = false;
  indices_.consumer.head = producer_.tail() - kCapacity - 1;  // further behind than possible
  EXPECT_EQ(producer_.free_slots(&corrupt), 0u);
  EXPECT_TRUE(corrupt);
  corrupt = false;
  indices_.consumer.head = producer_.tail();  // took all three: fine
  EXPECT_EQ(producer_.free_slots(&corrupt), kCapacity);
  EXPECT_FALSE(corrupt);
}

TEST_F(SpscRingTest, PeerScribblingOnOurIndexDoesNotMoveIt) {
  push(0, 2);
  indices_.producer.tail = 0x12345678;  // a hostile consumer writes our line
  indices_.consumer.head = 1;
  push(2, 1);
  EXPECT_EQ(indices_.producer.tail, 3u);  // republished from private state
  EXPECT_EQ(producer_.tail(), 3u);

  indices_.consumer.head = 0x7777;  // a hostile producer writes our line
  consumer_.release(1);
  EXPECT_EQ(indices_.consumer.head, 1u);  // our one release, not 0x7777 + 1
}

TEST_F(SpscRingTest, PublishWakesOnlyASleepingConsumer) {
  EXPECT_FALSE(push(0, 1));  // consumer busy: no kick
  consumer_.release(1);

  EXPECT_FALSE(consumer_.prepare_sleep());  // ring empty: go to sleep
  EXPECT_EQ(indices_.consumer.consumer_needs_wakeup, 1u);
  EXPECT_TRUE(push(1, 2));  // one kick for the batch
  consumer_.finish_sleep();
  EXPECT_EQ(indices_.consumer.consumer_needs_wakeup, 0u);
  EXPECT_FALSE(push(3, 1));
}

TEST_F(SpscRingTest, PrepareSleepSeesWorkThatRacedIn) {
  push(0, 1);
  EXPECT_TRUE(consumer_.prepare_sleep());  // do not sleep
  EXPECT_EQ(indices_.consumer.consumer_needs_wakeup, 0u);
  EXPECT_FALSE(push(1, 1));  // flag was cleared: no spurious kick
}

TEST_F(SpscRingTest, ProducerWaitsForSpace) {
  push(0, kCapacity);
  EXPECT_FALSE(consumer_.release(1));  // producer not waiting: no kick
  push(kCapacity, 1);
  ASSERT_EQ(producer_.free_slots(), 0u);

  EXPECT_FALSE(producer_.prepare_wait_for_space());  // full: sleep
  EXPECT_EQ(indices_.producer.producer_needs_wakeup, 1u);
  EXPECT_TRUE(consumer_.release(2));  // kick the producer
  producer_.finish_wait_for_space();
  EXPECT_EQ(indices_.producer.producer_needs_wakeup, 0u);
  EXPECT_FALSE(consumer_.release(1));

  // Space already there: prepare says "don't sleep" and leaves no flag set.
  EXPECT_TRUE(producer_.prepare_wait_for_space());
  EXPECT_EQ(indices_.producer.producer_needs_wakeup, 0u);
}

}  // namespace
}  // namespace uldd::abi
