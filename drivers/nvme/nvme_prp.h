// PRP construction (NVMe 1.4 §4.3): turns a buffer given by IOVA into the
// PRP1/PRP2 pair of a command, writing a PRP list when the buffer spans more
// than two memory pages.
//
// Every page is translated on its own through DmaRegion::device_address,
// because a kernel-UIO device address (a physical address) is only valid
// within one page: consecutive IOVA pages need not be consecutive on the bus.
// The buffer is used in place; nothing is copied.
#pragma once

#include <cstdint>

#include "uio/uio_device.h"

namespace uldd::drivers {

struct PrpPair {
  uint64_t prp1 = 0;
  uint64_t prp2 = 0;
};

// Number of PRP list entries a transfer of `len` bytes at `iova` needs
// (0 when PRP1 and PRP2 suffice).
uint32_t prp_list_entries(uint64_t iova, uint32_t len);

// Builds the PRPs for [iova, iova + len), len > 0, iova dword aligned (§4.3:
// PRP1's offset must be dword aligned). If a list is needed it is written at
// `list_iova` in `dma`, which must have room for prp_list_entries() entries
// within one page. The caller orders the list stores before the doorbell.
PrpPair build_prps(uio::DmaRegion& dma, uint64_t iova, uint32_t len, uint64_t list_iova);

}  // namespace uldd::drivers
