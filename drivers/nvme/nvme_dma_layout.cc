#include "drivers/nvme/nvme_dma_layout.h"

#include <algorithm>

#include "devices/nvme/nvme_spec.h"

namespace uldd::drivers {
namespace {

constexpr uint64_t kPage = nvme::kPageSize;

uint64_t round_up(uint64_t v, uint64_t to) {
  return (v + to - 1) / to * to;
}

uint32_t list_stride_for(uint32_t max_transfer) {
  // A transfer that starts anywhere (dword aligned) in a page touches at most
  // ceil(len / P) + 1 pages; PRP1 covers the first, the list the rest.
  uint32_t entries = static_cast<uint32_t>((uint64_t{max_transfer} + kPage - 1) / kPage);
  if (entries <= 1) return 0;
  uint32_t bytes = 8;
  while (bytes < entries * 8) bytes *= 2;
  return bytes;
}

}  // namespace

NvmeDmaLayout NvmeDmaLayout::compute(const abi::DriverConfig& cfg) {
  NvmeDmaLayout l;
  l.queue_count = cfg.io_queue_count;
  l.queue_depth = cfg.io_queue_depth;
  l.cids_per_queue = std::min(cfg.io_queue_depth - 1, kMaxCheckpointCids / cfg.io_queue_count);
  l.prp_list_stride = list_stride_for(cfg.max_transfer);
  l.identify_offset = 0;
  l.admin_sq_offset = kPage;
  l.admin_cq_offset = 2 * kPage;
  uint64_t at = 3 * kPage;
  for (uint32_t q = 0; q < l.queue_count; ++q) {
    l.io_sq_offset[q] = at;
    at += round_up(uint64_t{l.queue_depth} * sizeof(nvme::SubmissionEntry), kPage);
    l.io_cq_offset[q] = at;
    at += round_up(uint64_t{l.queue_depth} * sizeof(nvme::CompletionEntry), kPage);
  }
  l.prp_pool_offset = at;
  at += round_up(uint64_t{l.queue_count} * l.cids_per_queue * l.prp_list_stride, kPage);
  l.total_size = at;
  return l;
}

std::string check_driver_config(const abi::DriverConfig& cfg, uint64_t dma_size) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (cfg.io_queue_count < 1 || cfg.io_queue_count > kMaxIoQueues)
    return "config: io_queue_count " + n(cfg.io_queue_count) + " not in [1, 8]";
  uint32_t d = cfg.io_queue_depth;
  if (d < 2 || d > 4096 || (d & (d - 1)) != 0)
    return "config: io_queue_depth " + n(d) + " is not a power of two in [2, 4096]";
  if (cfg.irq_coalesce_threshold < 1 || cfg.irq_coalesce_threshold > 256)
    return "config: irq_coalesce_threshold " + n(cfg.irq_coalesce_threshold) + " not in [1, 256]";
  if (cfg.heartbeat_interval_us == 0) return "config: heartbeat_interval_us is 0";
  if (cfg.max_transfer == 0 || cfg.max_transfer % abi::kSectorSize != 0 ||
      cfg.max_transfer > kMaxTransferLimit)
    return "config: max_transfer " + n(cfg.max_transfer) +
           " is not a non-zero multiple of 512 up to 2 MiB";
  if (cfg.dma_driver_area_size > cfg.dma_buffer_area_offset)
    return "config: driver area [0, " + n(cfg.dma_driver_area_size) +
           ") overlaps the buffer area at " + n(cfg.dma_buffer_area_offset);
  if (cfg.dma_buffer_area_offset >= dma_size)
    return "config: buffer area offset " + n(cfg.dma_buffer_area_offset) +
           " is not inside the DMA region of " + n(dma_size) + " bytes";
  if (cfg.device_bytes == 0 || cfg.device_bytes % abi::kSectorSize != 0)
    return "config: device_bytes " + n(cfg.device_bytes) + " is not a non-zero multiple of 512";
  NvmeDmaLayout l = NvmeDmaLayout::compute(cfg);
  if (l.total_size > cfg.dma_driver_area_size)
    return "config: the driver area needs " + n(l.total_size) + " bytes for " +
           n(cfg.io_queue_count) + " queue pairs of depth " + n(d) + " and max_transfer " +
           n(cfg.max_transfer) + ", dma_driver_area_size is " + n(cfg.dma_driver_area_size);
  return "";
}

}  // namespace uldd::drivers
