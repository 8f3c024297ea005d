#include "shim/frontends/aligned_io.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "shim/frontends/fake_block_client.h"

namespace uldd::shim {
namespace {

using abi::BlockStatus;
using testing::FakeBlockClient;

std::vector<std::byte> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = std::byte(rng());
  return v;
}

constexpr uint64_t kDisk = 64 * 1024;

// Every (offset, length) combination around sector boundaries, checked
// against a plain byte-array model of the disk.
TEST(AlignedIoTest, ReadModifyWriteMatchesByteModel) {
  FakeBlockClient fake(kDisk, FakeBlockClient::Completion::kInline);
  AlignedIo io(fake);
  std::vector<std::byte> model = random_bytes(kDisk, 1);
  fake.fill(0, model);

  const uint64_t offsets[] = {0, 1, 100, 511, 512, 513, 1000, 1023, 1024, 4095, 8191};
  const uint64_t lengths[] = {1, 2, 3, 100, 511, 512, 513, 1024, 1025, 1536, 3000, 4096, 5000};
  uint32_t seed = 2;
  for (uint64_t off : offsets) {
    for (uint64_t len : lengths) {
      auto data = random_bytes(len, seed++);
      ASSERT_EQ(io.write(off, data), BlockStatus::kOk) << off << "+" << len;
      std::copy(data.begin(), data.end(), model.begin() + off);
      ASSERT_EQ(fake.snapshot(0, kDisk), model) << "after write " << off << "+" << len;

      std::vector<std::byte> back(len + 7);
      ASSERT_EQ(io.read(off, std::span(back).first(len)), BlockStatus::kOk);
      ASSERT_TRUE(std::equal(data.begin(), data.end(), back.begin())) << off << "+" << len;
      // Reading a window that straddles the written range returns the model.
      const uint64_t wb = off > 3 ? off - 3 : 0;
      const uint64_t wl = std::min<uint64_t>(len + 9, kDisk - wb);
      std::vector<std::byte> window(wl);
      ASSERT_EQ(io.read(wb, window), BlockStatus::kOk);
      ASSERT_TRUE(std::equal(window.begin(), window.end(), model.begin() + wb));
    }
  }
  EXPECT_EQ(fake.violations, 0u);
}

TEST(AlignedIoTest, AlignedRequestsPassStraightThrough) {
  FakeBlockClient fake(kDisk, FakeBlockClient::Completion::kInline);
  AlignedIo io(fake);
  auto data = random_bytes(4096, 7);
  ASSERT_EQ(io.write(8192, data), BlockStatus::kOk);
  EXPECT_EQ(fake.writes, 1u);
  EXPECT_EQ(fake.reads, 0u);  // no read-modify-write
  EXPECT_EQ(io.partial_writes(), 0u);
  ASSERT_EQ(io.write(8192 + 100, std::span(data).first(10)), BlockStatus::kOk);
  EXPECT_EQ(io.partial_writes(), 1u);
  ASSERT_EQ(io.write(8192, data), BlockStatus::kOk);  // restores the block read back below
  std::vector<std::byte> back(4096);
  const uint64_t reads_before = fake.reads;
  ASSERT_EQ(io.read(8192, back), BlockStatus::kOk);
  EXPECT_EQ(back, data);
  EXPECT_EQ(fake.reads - reads_before, 1u);
}

TEST(AlignedIoTest, OutOfRangeIsInvalidAndTouchesNothing) {
  FakeBlockClient fake(kDisk, FakeBlockClient::Completion::kInline);
  AlignedIo io(fake);
  std::vector<std::byte> buf(10);
  EXPECT_EQ(io.write(kDisk - 5, buf), BlockStatus::kInvalid);
  EXPECT_EQ(io.read(kDisk + 1, buf), BlockStatus::kInvalid);
  EXPECT_EQ(io.read(UINT64_MAX - 2, buf), BlockStatus::kInvalid);
  EXPECT_EQ(io.read(kDisk, std::span(buf).first(0)), BlockStatus::kOk);
  EXPECT_EQ(fake.reads + fake.writes, 0u);
}

TEST(AlignedIoTest, DeviceErrorsPropagate) {
  FakeBlockClient fake(kDisk, FakeBlockClient::Completion::kThread);
  AlignedIo io(fake);
  fake.inject(BlockStatus::kMediaError);
  std::vector<std::byte> buf(700);
  EXPECT_EQ(io.write(10, buf), BlockStatus::kMediaError);
  EXPECT_EQ(io.read(10, buf), BlockStatus::kMediaError);
  EXPECT_EQ(io.flush(), BlockStatus::kMediaError);
  fake.inject(BlockStatus::kOk);
  EXPECT_EQ(io.flush(), BlockStatus::kOk);
}

// Threads write single bytes at disjoint offsets that share sectors; with
// completions delayed on the device thread the read-modify-write windows
// overlap, so without the stripe locks updates would be lost.
TEST(AlignedIoTest, ConcurrentPartialWritesToOneSectorLoseNothing) {
  FakeBlockClient fake(kDisk, FakeBlockClient::Completion::kThread, /*max_delay_us=*/50);
  AlignedIo io(fake);
  constexpr int kThreads = 8;
  constexpr int kRounds = 60;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&io, t] {
      for (int r = 1; r <= kRounds; ++r) {
        // Thread t owns bytes t and t + 64 of sector 0 and byte t of sector 1.
        const std::byte value{static_cast<uint8_t>(r)};
        for (uint64_t off : {uint64_t(t), uint64_t(t + 64), uint64_t(512 + t)}) {
          ASSERT_EQ(io.write(off, std::span(&value, 1)), BlockStatus::kOk);
        }
        // Threads 0-3 share the tail of sector 0; threads 4-7 each write a
        // pair straddling a sector boundary (head and tail RMW at once).
        const std::byte pair[2] = {value, value};
        const uint64_t pair_off = t < 4 ? 504 + 2 * t : 512 * (t - 2) - 1;
        ASSERT_EQ(io.write(pair_off, pair), BlockStatus::kOk);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto disk = fake.snapshot(0, 4096);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(disk[t], std::byte(kRounds)) << "byte " << t;
    EXPECT_EQ(disk[t + 64], std::byte(kRounds)) << "byte " << t + 64;
    EXPECT_EQ(disk[512 + t], std::byte(kRounds)) << "byte " << 512 + t;
  }
  for (int b = 504; b < 512; ++b) EXPECT_EQ(disk[b], std::byte(kRounds)) << "byte " << b;
  for (int t = 4; t < kThreads; ++t) {
    EXPECT_EQ(disk[512 * (t - 2) - 1], std::byte(kRounds));
    EXPECT_EQ(disk[512 * (t - 2)], std::byte(kRounds));
  }
  EXPECT_EQ(fake.violations, 0u);
}

}  // namespace
}  // namespace uldd::shim
