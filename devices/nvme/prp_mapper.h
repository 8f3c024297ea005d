// PrpMapper: turns a command's data pointer (PRP1/PRP2, NVMe 1.4 §4.3) into a
// scatter/gather list over the DMA region. Every address comes from the
// untrusted driver, so each PRP entry, each PRP list page and each data page is
// bounds-checked against the DMA region before anything is read or written; a
// bad pointer becomes an NVMe status, never an access outside the region.
// Page size is 4 KiB (CC.MPS = 0, the only value CAP advertises).
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace uldd::nvme {

class PrpMapper {
 public:
  // Largest transfer the model accepts: MDTS = 5, i.e. 2^5 pages = 128 KiB.
  static constexpr size_t kMaxTransfer = size_t{128} * 1024;
  // One run per page plus one for a PRP1 that starts mid-page.
  static constexpr size_t kMaxSegments = kMaxTransfer / 4096 + 1;

  explicit PrpMapper(std::span<std::byte> dma) : dma_(dma) {}

  // Maps `length` bytes (1..kMaxTransfer). Returns 0 on success, otherwise a
  // CQE status field (status::make): Invalid Field for misaligned entries or an
  // oversized transfer, Data Transfer Error for memory outside the region.
  uint16_t map(uint64_t prp1, uint64_t prp2, size_t length);

  // The runs of the last successful map(); adjacent pages are merged.
  std::span<const iovec> segments() const { return {iov_.data(), count_}; }
  // Copies between a flat buffer and the mapped runs (Identify, DSM ranges).
  void copy_in(const void* src, size_t length) const;
  void copy_out(void* dst, size_t length) const;

 private:
  bool in_region(uint64_t addr, uint64_t length) const {
    return addr <= dma_.size() && length <= dma_.size() - addr;
  }
  void add(uint64_t addr, size_t length);

  std::span<std::byte> dma_;
  std::array<iovec, kMaxSegments> iov_{};
  size_t count_ = 0;
};

}  // namespace uldd::nvme
