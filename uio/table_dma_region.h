// TableDmaRegion: the DMA region of a kernel UIO device as an unprivileged
// driver sees it. The driver cannot read physical addresses from
// /proc/self/pagemap (it shows 0 without CAP_SYS_ADMIN), so the supervisor,
// which pinned the memory, hands it the bus address of every DMA page in a
// sealed, read-only memfd (abi/dma_address_table.h). This region maps the DMA
// memfd read-write and the table read-only, checks the table against the
// memfd, and translates IOVAs through it.
//
// open_kernel_uio() is the whole kernel backend of a driver process: BAR0,
// /dev/uioN, the config file, DMA memfd and table at the fds of
// abi/driver_fds.h become a KernelUio.
#pragma once

#include <memory>

#include "abi/dma_address_table.h"
#include "common/result.h"
#include "common/shared_memory.h"
#include "common/unique_fd.h"
#include "uio/kernel_uio.h"
#include "uio/uio_device.h"

namespace uldd::uio {

class TableDmaRegion final : public DmaRegion {
 public:
  // Maps `dma` and the sealed table `table`; refuses a table that is not
  // sealed against writes, does not describe exactly this memfd, or holds a
  // bus address that is not page aligned.
  static Result<std::unique_ptr<TableDmaRegion>> attach(UniqueFd dma, UniqueFd table);
  ~TableDmaRegion() override;
  TableDmaRegion(const TableDmaRegion&) = delete;
  TableDmaRegion& operator=(const TableDmaRegion&) = delete;

  std::byte* base() const override { return memory_.data(); }
  size_t size() const override { return memory_.size(); }
  // Bus address of `iova`, contiguous up to the end of its DMA page; ~0 for
  // an IOVA outside the region.
  uint64_t device_address(uint64_t iova) const override;

  const abi::DmaAddressTableHeader& header() const { return header_; }
  size_t page_size() const { return size_t{1} << header_.page_shift; }

 private:
  TableDmaRegion() = default;
  SharedMemory memory_;
  abi::DmaAddressTableHeader header_{};  // copied once from the table
  const uint64_t* addresses_ = nullptr;  // read-only mapping of the table's entries
  void* table_mapping_ = nullptr;
  size_t table_mapping_size_ = 0;
};

// The driver's kernel backend from its fds: `bar` (resource0 or /dev/uioN),
// `irq` (/dev/uioN), `config` (the PCI config file: bus mastering, and INTx
// unmasking), `dma` (the DMA memfd) and `table` (the sealed address table).
// The interrupt is unmasked once before this returns: a driver that died
// between an interrupt and its unmask left the line masked.
Result<std::unique_ptr<KernelUio>> open_kernel_uio(UniqueFd bar, UniqueFd irq, UniqueFd config,
                                                   UniqueFd dma, UniqueFd table);

}  // namespace uldd::uio
