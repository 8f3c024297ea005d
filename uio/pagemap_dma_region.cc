#include "uio/pagemap_dma_region.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace uldd::uio {
namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

size_t round_up(size_t v, size_t to) {
  return (v + to - 1) / to * to;
}

}  // namespace

Result<FilePagemap> FilePagemap::open(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open(" + path.string() + ")");
  return FilePagemap(std::move(fd), path.string());
}

Result<uint64_t> FilePagemap::entry(uintptr_t vaddr) const {
  uint64_t e = 0;
  auto offset = static_cast<off_t>(vaddr / kPagemapPageSize * sizeof e);
  ssize_t n = ::pread(fd_.get(), &e, sizeof e, offset);
  if (n < 0)
    return errno_error("pread(" + path_ + " at " + hex(static_cast<uint64_t>(offset)) + ")");
  if (n != sizeof e) return plain_error(path_ + ": short read of the entry for " + hex(vaddr));
  return e;
}

Result<DmaMemfd> create_dma_memfd(const std::string& name, size_t size) {
  if (size == 0) return plain_error("DMA memfd '" + name + "': size 0");
  std::string why = "memfd_create(MFD_HUGETLB) failed";
  UniqueFd huge(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB));
  if (huge.valid()) {
    why = "the huge page pool cannot reserve " + std::to_string(size) + " bytes";
    struct stat st {};
    size_t page = ::fstat(huge.get(), &st) == 0 ? static_cast<size_t>(st.st_blksize) : 0;
    size_t rounded = page > 0 ? round_up(size, page) : 0;
    // A shared hugetlb mapping reserves its pages at mmap time, so a trial
    // mapping tells whether the pool really has them (it usually has none).
    if (page > 0 && ::ftruncate(huge.get(), static_cast<off_t>(rounded)) == 0) {
      void* p = ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_SHARED, huge.get(), 0);
      if (p != MAP_FAILED) {
        ::munmap(p, rounded);
        ::fcntl(huge.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        return DmaMemfd{std::move(huge), rounded, page, true};
      }
    }
  }
  spdlog::warn(
      "DMA region '{}': no hugetlb pages available ({}); using ordinary pages pinned with "
      "mlock. Compaction may still move mlocked pages under a running device: reserve huge "
      "pages (vm.nr_hugepages) or set vm.compact_unevictable_allowed=0",
      name, why);
  size_t rounded = round_up(size, kPagemapPageSize);
  UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return errno_error("memfd_create(" + name + ")");
  if (::ftruncate(fd.get(), static_cast<off_t>(rounded)) != 0)
    return errno_error("ftruncate(" + name + ")");
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return errno_error("F_ADD_SEALS(" + name + ")");
  return DmaMemfd{std::move(fd), rounded, kPagemapPageSize, false};
}

Result<std::unique_ptr<PagemapDmaRegion>> PagemapDmaRegion::attach(SharedMemory memory,
                                                                   const PagemapSource& pagemap) {
  struct statfs fs {};
  if (::fstatfs(memory.fd(), &fs) != 0) return errno_error("fstatfs(DMA region)");
  bool hugetlb = static_cast<uint64_t>(fs.f_type) == HUGETLBFS_MAGIC;
  struct stat st {};
  if (::fstat(memory.fd(), &st) != 0) return errno_error("fstat(DMA region)");
  size_t page = hugetlb ? static_cast<size_t>(st.st_blksize) : kPagemapPageSize;
  if (memory.size() == 0 || memory.size() % page != 0)
    return plain_error("DMA region: " + std::to_string(memory.size()) +
                       " bytes is not a whole number of " + std::to_string(page) + "-byte pages");

  // Fault every page in without changing its contents (a restarted driver
  // adopts a region that already holds live device queues), then pin it.
  // Huge pages are never swapped, so only ordinary pages need mlock.
  if (::madvise(memory.data(), memory.size(), MADV_POPULATE_WRITE) != 0) {
    if (errno != EINVAL) return errno_error("madvise(DMA region, MADV_POPULATE_WRITE)");
    // Before Linux 5.14: a read fault allocates a shmem page just as well.
    for (size_t off = 0; off < memory.size(); off += kPagemapPageSize)
      (void)*static_cast<volatile std::byte*>(memory.data() + off);
  }
  if (!hugetlb && ::mlock(memory.data(), memory.size()) != 0)
    return errno_error("mlock(DMA region, " + std::to_string(memory.size()) + " bytes)");

  std::vector<uint64_t> addresses;
  addresses.reserve(memory.size() / page);
  for (size_t off = 0; off < memory.size(); off += page) {
    auto vaddr = reinterpret_cast<uintptr_t>(memory.data() + off);
    auto e = pagemap.entry(vaddr);
    if (!e) return e.error();
    if ((e.value() & kPagemapPresent) == 0)
      return plain_error("DMA region: page at offset " + hex(off) + " is not present in pagemap");
    uint64_t pfn = e.value() & kPagemapPfnMask;
    if (pfn == 0)
      return plain_error(
          "DMA region: pagemap shows page frame number 0; reading physical addresses from "
          "/proc/self/pagemap needs CAP_SYS_ADMIN");
    addresses.push_back(pfn * kPagemapPageSize);
  }
  return std::unique_ptr<PagemapDmaRegion>(
      new PagemapDmaRegion(std::move(memory), page, hugetlb, std::move(addresses)));
}

uint64_t PagemapDmaRegion::device_address(uint64_t iova) const {
  if (iova >= size()) return ~uint64_t{0};
  return page_addresses_[iova / page_size_] + iova % page_size_;
}

}  // namespace uldd::uio
