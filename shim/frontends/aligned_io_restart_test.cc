// AlignedIo over the real DiskShim while its "driver" keeps dying: the path a
// FUSE write takes (partial sectors by read-modify-write, the rest straight
// through), with the shim's hold / restart / resend in the middle of it.
// Looks for lost updates (a read-modify-write whose base read or write-back
// is resent across a restart) and for data resent from a reused buffer.
//
// The fake driver (shim/testing/fake_driver_port.h) holds what it is given
// and a "device" thread of the test completes it out of order; it can
// "crash": from then on it executes nothing and loses what it was given,
// exactly like a SIGKILLed driver; completions it already posted stay in the
// ring (the shim harvests them in restart()). No timing is asserted: the
// result is compared with a byte model of what each writer wrote.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "shim/disk_shim.h"
#include "shim/frontends/aligned_io.h"
#include "shim/testing/fake_driver_port.h"

namespace uldd::shim {
namespace {

using abi::BlockStatus;

constexpr uint32_t kMaxTransfer = 8192;
constexpr uint32_t kBuffers = 16;
constexpr uint64_t kDiskBytes = 1 << 20;

// Threads write their own bytes of shared sectors (partial: read-modify-write
// under the stripe lock) and their own aligned blocks, read each write back,
// while another thread kills and restarts the driver (cold and warm resends).
TEST(AlignedIoRestartTest, PartialAndAlignedWritesSurviveDriverRestarts) {
  std::vector<std::byte> dma(4096 + kBuffers * kMaxTransfer);
  std::vector<std::byte> disk(kDiskBytes);
  auto owned = std::make_unique<fakes::FakeDriverPort>(16, dma.data(), &disk);
  fakes::FakeDriverPort* port = owned.get();
  port->hold_ = true;  // the device thread below completes, out of order
  DiskShimOptions o;
  o.device_name = "restart0";
  o.size_bytes = kDiskBytes;
  o.max_transfer = kMaxTransfer;
  o.buffer_area = dma.data() + 4096;
  o.buffer_area_iova = 4096;
  o.buffer_count = kBuffers;
  DiskShim shim(o, std::move(owned));
  ASSERT_TRUE(shim.start().ok());
  AlignedIo io(shim);

  constexpr int kThreads = 8;
  constexpr int kRounds = 250;
  constexpr uint64_t kSharedSectors = 16;  // sectors 0..15: 64-byte slices per thread
  constexpr uint64_t kSlice = 512 / kThreads;
  constexpr uint64_t kAlignedBase = 64 * 1024;  // then 32 KiB of whole blocks per thread
  constexpr uint64_t kAlignedPerThread = 32 * 1024;

  std::atomic<bool> writers_done{false};
  std::atomic<int> failures{0};
  std::thread device([&] {
    std::mt19937 rng(42);
    while (!writers_done.load()) {
      if (!port->complete_one(rng)) std::this_thread::sleep_for(std::chrono::microseconds(50));
      if (rng() % 4 == 0) std::this_thread::yield();
    }
  });
  std::thread killer([&] {
    std::mt19937 rng(7);
    while (!writers_done.load()) {
      std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 800));
      shim.hold();
      port->crash(rng);
      auto resent = shim.restart(rng() % 2 ? ResendMode::kAdopt : ResendMode::kReissue);
      if (!resent.ok()) failures++;
    }
  });

  std::vector<std::vector<std::byte>> models(kThreads);
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      auto& model = models[t];
      model.assign(kSharedSectors * kSlice + kAlignedPerThread, std::byte{0});
      for (int r = 0; r < kRounds && failures.load() == 0; ++r) {
        // A partial write inside this thread's slice of a shared sector
        // (head only, or head and tail sectors when it straddles into the
        // next one is not possible here: a slice never crosses a sector).
        const uint64_t sector = rng() % kSharedSectors;
        const uint64_t in_slice = rng() % kSlice;
        const uint64_t len = 1 + rng() % (kSlice - in_slice);
        std::vector<std::byte> data(len);
        for (auto& b : data) b = std::byte(rng());
        const uint64_t off = sector * 512 + t * kSlice + in_slice;
        if (io.write(off, data) != BlockStatus::kOk) failures++;
        std::copy(data.begin(), data.end(), model.begin() + sector * kSlice + in_slice);
        std::vector<std::byte> back(kSlice);
        if (io.read(sector * 512 + t * kSlice, back) != BlockStatus::kOk) failures++;
        if (!std::equal(back.begin(), back.end(), model.begin() + sector * kSlice)) failures++;

        // An aligned multi-transfer write of this thread's own blocks.
        const uint64_t block = rng() % 6;  // 4 KiB blocks, 12 KiB long: 2 transfers
        std::vector<std::byte> big(12 * 1024);
        for (auto& b : big) b = std::byte(rng());
        const uint64_t big_off = kAlignedBase + t * kAlignedPerThread + block * 4096;
        if (io.write(big_off, big) != BlockStatus::kOk) failures++;
        std::copy(big.begin(), big.end(), model.begin() + kSharedSectors * kSlice + block * 4096);
        std::vector<std::byte> big_back(big.size());
        if (io.read(big_off, big_back) != BlockStatus::kOk || big_back != big) failures++;
      }
    });
  }
  for (auto& w : writers) w.join();
  writers_done = true;
  killer.join();
  device.join();
  EXPECT_EQ(failures.load(), 0) << "a write or read-back failed or differed";
  ASSERT_TRUE(shim.drain(std::chrono::seconds(5)));

  for (int t = 0; t < kThreads; ++t) {
    for (uint64_t s = 0; s < kSharedSectors; ++s) {
      EXPECT_TRUE(std::equal(models[t].begin() + s * kSlice, models[t].begin() + (s + 1) * kSlice,
                             disk.begin() + s * 512 + t * kSlice))
          << "thread " << t << " lost an update in sector " << s;
    }
    EXPECT_TRUE(std::equal(models[t].begin() + kSharedSectors * kSlice, models[t].end(),
                           disk.begin() + kAlignedBase + t * kAlignedPerThread))
        << "thread " << t << " aligned blocks differ";
  }
  EXPECT_GT(shim.stats().restarts.load(), 0u);
  EXPECT_EQ(shim.stats().errors.load(), 0u);
  EXPECT_EQ(shim.stats().protocol_violations.load(), 0u);
  shim.stop();
}

}  // namespace
}  // namespace uldd::shim
