// RingDriverPort blanks the request slots its driver released: after each
// look for space (submit_space), every request slot outside [head, tail) is
// abi::kBlankRequest, so a driver that reads past the published tail finds
// no old lap's descriptor (abi/ring_region.h, "who writes the slots").
#include "shim/ring_driver_port.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace uldd::shim {
namespace {

using abi::BlockDescriptor;

constexpr uint32_t kRing = 8;

bool is_blank(const BlockDescriptor& d) {
  return std::memcmp(&d, &abi::kBlankRequest, sizeof d) == 0;
}

TEST(RingDriverPortTest, ReleasedRequestSlotsAreBlanked) {
  abi::RingRegionHeader h = abi::ring_region_layout(kRing);
  auto* mem = static_cast<std::byte*>(std::aligned_alloc(4096, h.region_size));
  std::memset(mem, 0, h.region_size);
  abi::RingRegionView view{mem, h};
  // A dead driver's leftovers in every slot.
  for (uint32_t i = 0; i < kRing; ++i)
    view.request_slots()[i] = BlockDescriptor{0x77, 2, 0, 4096, 0, 65536, i};
  EventFd driver_wake = EventFd::create().value();
  EventFd shim_wake = EventFd::create().value();
  {
    RingDriverPort port(view, driver_wake, shim_wake);
    abi::SpscConsumer<BlockDescriptor> driver(view.request_indices(), view.request_slots(), kRing,
                                              0);
    ASSERT_EQ(port.submit_space(), kRing);
    for (uint32_t i = 0; i < kRing; ++i) EXPECT_TRUE(is_blank(view.request_slots()[i])) << i;

    uint32_t tag = 1;
    for (uint32_t round = 0; round < 20; ++round) {
      uint32_t n = 3 + round % 4;
      ASSERT_GE(port.submit_space(), n);
      for (uint32_t i = 0; i < n; ++i)
        port.stage(i, BlockDescriptor{tag++, 2, 0, 4096, 0, 65536, uint64_t{tag} * 8});
      port.commit(n);
      // The driver takes all but one (on odd rounds) and releases them.
      uint32_t take = driver.available() - round % 2;
      driver.release(take);
      (void)port.submit_space();
      uint32_t ready = driver.available();
      for (uint32_t i = 0; i < kRing; ++i) {
        BlockDescriptor d = driver.peek(i);
        if (i < ready)
          EXPECT_FALSE(is_blank(d))
              << "round " << round << ": published slot head+" << i << " blanked";
        else
          EXPECT_TRUE(is_blank(d))
              << "round " << round << ": slot head+" << i << " holds tag " << d.tag;
      }
    }
    EXPECT_FALSE(port.protocol_violated());
  }
  std::free(mem);
}

}  // namespace
}  // namespace uldd::shim
