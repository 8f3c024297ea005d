#include "uio/table_dma_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace uldd::uio {

Result<std::unique_ptr<TableDmaRegion>> TableDmaRegion::attach(UniqueFd dma, UniqueFd table) {
  int seals = ::fcntl(table.get(), F_GET_SEALS);
  if (seals < 0) return errno_error("F_GET_SEALS(DMA address table)");
  if ((seals & F_SEAL_WRITE) == 0 || (seals & F_SEAL_SHRINK) == 0)
    return plain_error("DMA address table: not sealed against writes and shrinking");
  struct stat st {};
  if (::fstat(table.get(), &st) != 0) return errno_error("fstat(DMA address table)");
  auto table_size = static_cast<uint64_t>(st.st_size);
  abi::DmaAddressTableHeader h{};
  if (table_size < sizeof h) return plain_error("DMA address table: shorter than its header");
  if (::pread(table.get(), &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    return errno_error("pread(DMA address table header)");
  if (h.magic != abi::kDmaAddressTableMagic) return plain_error("DMA address table: bad magic");
  if (h.version != abi::kDmaAddressTableVersion)
    return plain_error("DMA address table: version " + std::to_string(h.version) + ", expected " +
                       std::to_string(abi::kDmaAddressTableVersion));
  if (h.page_shift < 12 || h.page_shift > 30)
    return plain_error("DMA address table: page shift " + std::to_string(h.page_shift));
  if (h.page_count == 0 || h.page_count > abi::kDmaAddressTableMaxPages)
    return plain_error("DMA address table: " + std::to_string(h.page_count) + " pages");
  if (h.page_count << h.page_shift != h.dma_size)
    return plain_error("DMA address table: " + std::to_string(h.page_count) + " pages of 2^" +
                       std::to_string(h.page_shift) + " bytes do not make " +
                       std::to_string(h.dma_size) + " bytes");
  if (table_size < abi::dma_address_table_size(h.page_count))
    return plain_error("DMA address table: " + std::to_string(table_size) +
                       " bytes, too short for its entries");

  std::unique_ptr<TableDmaRegion> r(new TableDmaRegion());
  r->header_ = h;
  auto memory = SharedMemory::attach(std::move(dma), h.dma_size, "DMA region");
  if (!memory) return memory.error();
  if (memory.value().size() != h.dma_size)
    return plain_error("DMA region: " + std::to_string(memory.value().size()) +
                       " bytes, the address table describes " + std::to_string(h.dma_size));
  r->memory_ = std::move(memory.value());
  r->table_mapping_size_ = abi::dma_address_table_size(h.page_count);
  void* p = ::mmap(nullptr, r->table_mapping_size_, PROT_READ, MAP_SHARED, table.get(), 0);
  if (p == MAP_FAILED) return errno_error("mmap(DMA address table)");
  r->table_mapping_ = p;
  r->addresses_ = reinterpret_cast<const uint64_t*>(static_cast<const std::byte*>(p) + sizeof h);
  const uint64_t page_mask = (uint64_t{1} << h.page_shift) - 1;
  for (uint64_t i = 0; i < h.page_count; ++i)
    if ((r->addresses_[i] & page_mask) != 0 || r->addresses_[i] == 0)
      return plain_error("DMA address table: entry " + std::to_string(i) +
                         " is not a page-aligned bus address");
  return r;
}

TableDmaRegion::~TableDmaRegion() {
  if (table_mapping_ != nullptr) ::munmap(table_mapping_, table_mapping_size_);
}

uint64_t TableDmaRegion::device_address(uint64_t iova) const {
  if (iova >= size()) return ~uint64_t{0};
  const uint64_t mask = (uint64_t{1} << header_.page_shift) - 1;
  return addresses_[iova >> header_.page_shift] + (iova & mask);
}

Result<std::unique_ptr<KernelUio>> open_kernel_uio(UniqueFd bar, UniqueFd irq, UniqueFd config,
                                                   UniqueFd dma, UniqueFd table) {
  auto region = TableDmaRegion::attach(std::move(dma), std::move(table));
  if (!region) return region.error();
  const abi::DmaAddressTableHeader& h = region.value()->header();
  KernelUioFiles files;
  files.bar = std::move(bar);
  files.irq = std::move(irq);
  files.config = std::move(config);
  files.bar_size = h.bar_size;
  files.bar_page_offset = h.bar_page_offset;
  files.irq_count = h.irq_count;
  auto dev = KernelUio::adopt(std::move(files), std::move(region.value()));
  if (!dev) return dev.error();
  ULDD_TRY(dev.value()->unmask_irq());
  return dev;
}

}  // namespace uldd::uio
