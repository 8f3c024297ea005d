// DmaAddressTable: the bus address of every page of a kernel UIO device's DMA
// region, computed by the supervisor and handed to the driver read-only.
//
// Why: a device without an IOMMU (uio_pci_generic has none) is given physical
// addresses, and the kernel shows page frame numbers in /proc/self/pagemap
// only to CAP_SYS_ADMIN; an unprivileged driver reads 0 there. The
// supervisor, which created, mapped and locked the DMA memfd (and keeps it
// mapped and locked for the device's life, so the pages stay put), reads the
// pagemap once and writes this table into a small memfd, then seals it
// against writes (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL):
// the driver can only map it PROT_READ. It also carries what the driver needs
// to map BAR0 from the fd it is given (a resource0 file has a size, a
// /dev/uioN map has not).
//
// The driver is handed the memfd at abi::kFdDmaTable (abi/driver_fds.h) with
// --uio=kernel; uio/table_dma_region.h reads it. Every field is written by
// the supervisor (supervisor/kernel_device_files.cc) before the driver
// exists and never again; the driver only reads, and checks every field.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uldd::abi {

inline constexpr uint64_t kDmaAddressTableMagic = 0x5441414d44444c55ull;  // "ULDDMAAT"
inline constexpr uint32_t kDmaAddressTableVersion = 1;
// At most this many DMA pages (4 KiB pages: 256 MiB of DMA memory).
inline constexpr uint64_t kDmaAddressTableMaxPages = 65536;

struct DmaAddressTableHeader {
  uint64_t magic;            // supervisor: kDmaAddressTableMagic
  uint32_t version;          // supervisor: kDmaAddressTableVersion
  uint32_t page_shift;       // supervisor: log2 of the DMA page size (12, or 21 for 2 MiB hugetlb)
  uint64_t page_count;       // supervisor: entries that follow = DMA region size >> page_shift
  uint64_t dma_size;         // supervisor: bytes of the DMA memfd (kFdDma)
  uint64_t bar_size;         // supervisor: bytes of BAR0 behind kFdUioBar
  uint64_t bar_page_offset;  // supervisor: where BAR0 starts in the first mapped page (UIO map0)
  uint32_t irq_count;        // supervisor: /dev/uioN's interrupt count when it was opened
  uint32_t hugetlb;          // supervisor: 1 when the DMA memfd is hugetlb-backed
  uint64_t reserved[2];      // supervisor: 0
  // followed by uint64_t bus_address[page_count]: supervisor, the bus address
  // of the first byte of each DMA page (page i covers [i << page_shift, ...)).
};
static_assert(sizeof(DmaAddressTableHeader) == 72);
static_assert(offsetof(DmaAddressTableHeader, page_shift) == 12);
static_assert(offsetof(DmaAddressTableHeader, page_count) == 16);
static_assert(offsetof(DmaAddressTableHeader, bar_size) == 32);
static_assert(offsetof(DmaAddressTableHeader, irq_count) == 48);
static_assert(sizeof(DmaAddressTableHeader) % sizeof(uint64_t) == 0);

// Bytes of a table with `pages` entries.
constexpr size_t dma_address_table_size(uint64_t pages) {
  return sizeof(DmaAddressTableHeader) + pages * sizeof(uint64_t);
}

}  // namespace uldd::abi
