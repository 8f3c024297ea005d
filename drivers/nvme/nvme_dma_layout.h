// NvmeDmaLayout: where the NVMe driver keeps its own device-visible memory
// inside the driver area [0, DriverConfig::dma_driver_area_size) of the DMA
// region. The shim never touches this area, the controller reads and writes
// it, and a restarted driver recomputes the same layout from the same config
// (so it can adopt live queues without a reset).
//
// Layout, every piece 4 KiB aligned (P = 4096, N = io_queue_count,
// D = io_queue_depth, C = cids per queue, L = PRP list stride):
//   0                 Identify data buffer                    1 page
//   P                 admin SQ  (kAdminQueueDepth x 64 B)      1 page
//   2P                admin CQ  (kAdminQueueDepth x 16 B)      1 page
//   3P                for q in 1..N: SQ q  roundup(64 D, P)
//                                    CQ q  roundup(16 D, P)
//   prp_pool_offset   PRP lists: N x C lists of L bytes        roundup(N C L, P)
// where C = min(D - 1, kMaxCheckpointCids / N) (at most D - 1 commands per
// queue so the CQ can never overflow, and the whole cid table fits in the
// checkpoint) and L = the smallest power of two >= 8 x ceil(max_transfer / P)
// (0 when max_transfer <= P: PRP1 + PRP2 then always suffice). A list never
// crosses a page, because L divides P and the pool is page aligned.
//
//   min size = 3P + N (roundup(64 D, P) + roundup(16 D, P)) + roundup(N C L, P)
//
// Queues must also be contiguous in device-address space (the controller may
// require physically contiguous queues, CAP.CQR); NvmeDriver checks that page
// by page at bring-up.
#pragma once

#include <cstdint>
#include <string>

#include "abi/block_descriptor.h"
#include "abi/control_block.h"
#include "common/result.h"
#include "drivers/nvme/nvme_checkpoint.h"

namespace uldd::drivers {

inline constexpr uint32_t kAdminQueueDepth = 32;
// A PRP list must fit in one page (no chained lists): 512 entries cover
// 513 pages, so 2 MiB is the largest transfer the driver accepts.
inline constexpr uint32_t kMaxTransferLimit = 2u << 20;

struct NvmeDmaLayout {
  uint32_t queue_count = 0;
  uint32_t queue_depth = 0;
  uint32_t cids_per_queue = 0;
  uint32_t prp_list_stride = 0;  // L; 0 when no transfer ever needs a list
  uint64_t identify_offset = 0;
  uint64_t admin_sq_offset = 0;
  uint64_t admin_cq_offset = 0;
  uint64_t io_sq_offset[kMaxIoQueues] = {};
  uint64_t io_cq_offset[kMaxIoQueues] = {};
  uint64_t prp_pool_offset = 0;
  uint64_t total_size = 0;  // bytes of the driver area the layout needs

  uint64_t prp_list_offset(uint32_t queue_index, uint32_t cid) const {
    return prp_pool_offset + (uint64_t{queue_index} * cids_per_queue + cid) * prp_list_stride;
  }

  // Computes the layout for a config whose queue count/depth and max_transfer
  // are in range (check_driver_config() first).
  static NvmeDmaLayout compute(const abi::DriverConfig& cfg);
};

// Sanity of a DriverConfig against the ABI's ranges and the DMA region size:
// returns "" if good, otherwise what is wrong. Includes the check that the
// layout fits in dma_driver_area_size.
std::string check_driver_config(const abi::DriverConfig& cfg, uint64_t dma_size);

}  // namespace uldd::drivers
