// NvmeController: the NVM command set (NVMe 1.4 §6) — Read, Write, Flush and
// Dataset Management on namespace 1. This is the benchmark path: no
// allocation, and no syscall besides the one preadv/pwritev of the store (plus
// fdatasync for Flush, FUA or a disabled write cache).
#include <cstddef>

#include "devices/nvme/nvme_controller.h"

namespace uldd::nvme {
namespace {

// Dataset Management range, §6.7 Figure 364. Unlike NLB in Read/Write, the
// length here is a count (not 0's based).
struct DsmRange {
  uint32_t attributes;  // context attributes (ignored)
  uint32_t blocks;      // length in logical blocks
  uint64_t slba;        // starting LBA
};
static_assert(sizeof(DsmRange) == 16);
static_assert(offsetof(DsmRange, slba) == 8);

constexpr uint8_t kUnsupportedFlags = 0xC3;  // FUSE and PSDT, see the admin file
constexpr uint32_t kFua = 1u << 30;          // Read/Write CDW12 bit 30, §6.15
constexpr uint32_t kDeallocate = 1u << 2;    // DSM CDW11 AD, §6.7
constexpr uint32_t kAllNamespaces = 0xFFFFFFFF;

uint16_t generic(uint8_t sc) {
  return status::make(status::kTypeGeneric, sc, true);
}
uint16_t media(uint8_t sc) {
  return status::make(status::kTypeMedia, sc);
}

}  // namespace

uint16_t NvmeController::execute_io(const SubmissionEntry& cmd) {
  if ((cmd.flags & kUnsupportedFlags) != 0) return generic(status::kInvalidField);
  switch (cmd.opcode) {
    case io::kRead:
      return read_write(cmd, false);
    case io::kWrite:
      return read_write(cmd, true);
    case io::kFlush:
      return flush_command(cmd);
    case io::kDatasetManagement:
      return dataset_management(cmd);
    default:
      return generic(status::kInvalidOpcode);
  }
}

uint16_t NvmeController::read_write(const SubmissionEntry& cmd, bool is_write) {
  if (cmd.nsid != 1) return generic(status::kInvalidNamespace);
  // §6.9 / §6.15: SLBA in CDW11:CDW10, NLB (0's based) in CDW12 15:0.
  uint64_t slba = uint64_t{cmd.cdw10} | (uint64_t{cmd.cdw11} << 32);
  uint64_t nlb = uint64_t{cmd.cdw12 & 0xFFFF} + 1;
  if (slba >= blocks_ || nlb > blocks_ - slba) return generic(status::kLbaOutOfRange);
  uint64_t bytes = nlb << config_.lba_shift;
  if (bytes > PrpMapper::kMaxTransfer) return generic(status::kInvalidField);  // > MDTS
  if (uint16_t st = prp_.map(cmd.prp1, cmd.prp2, bytes); st != 0) return st;
  uint64_t offset = slba << config_.lba_shift;
  if (!is_write) {
    // media-error (device fault): blocks in the armed range read as unrecoverable.
    if (faults_.media_error(slba, nlb)) return media(status::kUnrecoveredReadError);
    if (!store_.read(offset, prp_.segments()).ok()) return media(status::kUnrecoveredReadError);
    return 0;
  }
  if (!store_.write(offset, prp_.segments()).ok()) return media(status::kWriteFault);
  faults_.media_written(slba, nlb);  // written blocks are remapped: they read again
  // Force Unit Access, or no volatile write cache: durable before completion.
  if ((cmd.cdw12 & kFua) != 0 || !features_.write_cache) {
    if (!store_.flush().ok()) return media(status::kWriteFault);
  }
  return 0;
}

uint16_t NvmeController::flush_command(const SubmissionEntry& cmd) {
  // §6.8; NSID FFFFFFFFh flushes all namespaces (there is one).
  if (cmd.nsid != 1 && cmd.nsid != kAllNamespaces) return generic(status::kInvalidNamespace);
  if (!store_.flush().ok()) return media(status::kWriteFault);
  return 0;
}

uint16_t NvmeController::dataset_management(const SubmissionEntry& cmd) {
  if (cmd.nsid != 1) return generic(status::kInvalidNamespace);
  // §6.7: CDW10 NR 7:0 (0's based), CDW11 attributes. Without AD the ranges
  // are only hints, which the model ignores.
  if ((cmd.cdw11 & kDeallocate) == 0) return 0;
  size_t count = (cmd.cdw10 & 0xFF) + 1;
  size_t bytes = count * sizeof(DsmRange);
  if (uint16_t st = prp_.map(cmd.prp1, cmd.prp2, bytes); st != 0) return st;
  DsmRange ranges[256];
  prp_.copy_out(ranges, bytes);  // one copy: the driver may rewrite the list meanwhile
  for (size_t i = 0; i < count; ++i) {
    const DsmRange& r = ranges[i];
    if (r.slba > blocks_ || r.blocks > blocks_ - r.slba) return generic(status::kLbaOutOfRange);
  }
  for (size_t i = 0; i < count; ++i) {
    const DsmRange& r = ranges[i];
    if (r.blocks == 0) continue;
    if (!store_.deallocate(r.slba << config_.lba_shift, uint64_t{r.blocks} << config_.lba_shift)
             .ok())
      return generic(status::kInternalError);
  }
  return 0;
}

}  // namespace uldd::nvme
