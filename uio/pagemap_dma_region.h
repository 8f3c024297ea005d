// PagemapDmaRegion: DMA memory a real PCI device can be pointed at, without
// an IOMMU driver (uio_pci_generic has none).
//
// The device needs physical addresses, and the memory behind them must not
// move or be swapped while the device may touch it. So the region is a memfd
// backed by huge pages when the host has them reserved (hugetlb pages are
// never swapped or compacted, and each one is physically contiguous), falling
// back to ordinary shmem pages locked with mlock. Each page's physical address
// is read once from /proc/self/pagemap when the region is attached; the kernel
// only shows page frame numbers to CAP_SYS_ADMIN, and shows 0 to everyone
// else, which is refused with an error saying so.
//
// PagemapSource is the seam for tests: they hand in a fake pagemap file
// (FilePagemap on another path) or an in-memory one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/shared_memory.h"
#include "common/unique_fd.h"
#include "uio/uio_device.h"

namespace uldd::uio {

// /proc/<pid>/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
inline constexpr uint64_t kPagemapPresent = uint64_t{1} << 63;
inline constexpr uint64_t kPagemapPfnMask = (uint64_t{1} << 55) - 1;  // bits 0-54
inline constexpr uint64_t kPagemapPageSize = 4096;  // one entry per 4 KiB page, huge or not

// Where the raw pagemap entry of a virtual address comes from.
class PagemapSource {
 public:
  virtual ~PagemapSource() = default;
  virtual Result<uint64_t> entry(uintptr_t vaddr) const = 0;
};

// A pagemap file: /proc/self/pagemap, or a fake with the same format (one
// little-endian uint64 per 4 KiB virtual page, at offset vaddr / 4096 * 8).
class FilePagemap final : public PagemapSource {
 public:
  static Result<FilePagemap> open(const std::filesystem::path& path = "/proc/self/pagemap");
  Result<uint64_t> entry(uintptr_t vaddr) const override;

 private:
  FilePagemap(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// A memfd suitable for DMA, as the supervisor creates it for a real device.
struct DmaMemfd {
  UniqueFd fd;
  size_t size = 0;       // the size asked for, rounded up to whole pages
  size_t page_size = 0;  // 2 MiB (or the default huge page size) with hugetlb, else 4096
  bool hugetlb = false;
};

// Tries a hugetlb memfd (and checks that the huge pages can really be
// reserved); otherwise logs a warning and returns an ordinary memfd, whose
// pages PagemapDmaRegion locks with mlock.
Result<DmaMemfd> create_dma_memfd(const std::string& name, size_t size);

class PagemapDmaRegion final : public DmaRegion {
 public:
  // Takes a mapped DMA memfd, faults in and pins every page, and resolves
  // each page's physical address through `pagemap`. Fails if a page is not
  // present or its frame number reads as 0 (no CAP_SYS_ADMIN).
  static Result<std::unique_ptr<PagemapDmaRegion>> attach(SharedMemory memory,
                                                          const PagemapSource& pagemap);

  std::byte* base() const override { return memory_.data(); }
  size_t size() const override { return memory_.size(); }
  // Physical address of `iova`; ~0 for an IOVA outside the region (callers
  // check contains() first). Contiguous only up to the end of iova's page.
  uint64_t device_address(uint64_t iova) const override;

  size_t page_size() const { return page_size_; }
  bool hugetlb() const { return hugetlb_; }

 private:
  PagemapDmaRegion(SharedMemory memory, size_t page_size, bool hugetlb,
                   std::vector<uint64_t> page_addresses)
      : memory_(std::move(memory)),
        page_size_(page_size),
        hugetlb_(hugetlb),
        page_addresses_(std::move(page_addresses)) {}

  SharedMemory memory_;
  size_t page_size_;
  bool hugetlb_;
  std::vector<uint64_t> page_addresses_;  // physical address of each page's first byte
};

}  // namespace uldd::uio
