// protect_buffer_area (drivers/uio_backend.h): in a driver process the
// shim's data buffers are mapped read-only, so a stray write — a campaign's
// flipped register made build_prps write a PRP list far past its page —
// faults instead of changing data the shim resends after the restart. The
// driver area (queues, PRP lists) stays writable.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include "drivers/nvme/fake_nvme_device.h"
#include "drivers/uio_backend.h"

namespace uldd::drivers {
namespace {

constexpr uint64_t kDriverArea = 64 << 10;
constexpr uint64_t kDmaSize = kDriverArea + (64 << 10);

TEST(BufferAreaProtectionDeathTest, AStrayWriteIntoTheBuffersFaults) {
  testing::FakeDma dma(kDmaSize, kDriverArea);
  ASSERT_TRUE(protect_buffer_area(dma, kDriverArea).ok());
  dma.base()[kDriverArea - 1] = std::byte{1};                         // the driver area: fine
  EXPECT_EQ(std::to_integer<int>(dma.base()[kDriverArea + 100]), 0);  // reading: fine
  EXPECT_DEATH(
      {
        volatile std::byte* p = dma.base() + kDriverArea + 4096;
        *p = std::byte{0x5a};
      },
      "");
  ::mprotect(dma.base(), kDmaSize, PROT_READ | PROT_WRITE);  // for the free
}

TEST(BufferAreaProtection, AnOffsetPastTheRegionProtectsNothing) {
  testing::FakeDma dma(kDmaSize, kDriverArea);
  EXPECT_TRUE(protect_buffer_area(dma, kDmaSize).ok());
  dma.base()[kDmaSize - 1] = std::byte{1};
}

}  // namespace
}  // namespace uldd::drivers
