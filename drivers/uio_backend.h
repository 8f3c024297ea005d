// The device of a driver process, from the backend named on its command line
// (--uio=emulated|kernel) and the fds of abi/driver_fds.h. Both drivers
// (uldd-nvme-driver, uldd-e1000-driver) run the same code on either backend;
// this is the only place where they differ.
//   emulated: BAR memfd (9), IRQ eventfd (10), doorbell eventfd (11), DMA memfd (8)
//   kernel:   BAR0 (9), /dev/uioN (10), PCI config file (11), DMA memfd (8),
//             sealed DMA address table (13, abi/dma_address_table.h)
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "abi/driver_fds.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "uio/emulated_uio.h"
#include "uio/table_dma_region.h"
#include "uio/uio_device.h"

namespace uldd::drivers {

// "" when every fd `backend` needs beyond the common ones is open, else what is missing.
inline std::string check_backend_fds(const std::string& backend) {
  if (backend == "kernel" && ::fcntl(abi::kFdDmaTable, F_GETFD) < 0)
    return "fd " + std::to_string(abi::kFdDmaTable) +
           " (DMA address table) is not open: --uio=kernel needs it (abi/driver_fds.h)";
  return "";
}

// The shim's data buffers — [buffer_area_offset, size) of the DMA region —
// are only ever read and written by the device; the driver only hands out
// their addresses. The driver process's mapping of them is made read-only,
// so that a stray write of a faulty driver faults instead of changing data
// the shim will send again after the restart (a campaign's flipped
// register made build_prps write a PRP list for 2^59 bytes over other
// requests' buffers: a corrupted block on disk). Not for colocated drivers
// (the supervisor's own mapping). An error when the kernel refuses (a
// hugetlb mapping whose buffer area does not start on a huge page).
inline Status protect_buffer_area(const uio::DmaRegion& dma, uint64_t buffer_area_offset) {
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t start = (buffer_area_offset + page - 1) / page * page;
  if (start >= dma.size()) return {};
  if (::mprotect(dma.base() + start, dma.size() - start, PROT_READ) != 0)
    return Error{errno, "mprotect of the DMA buffer area (offset " + std::to_string(start) + ", " +
                            std::to_string(dma.size() - start) + " bytes) read-only"};
  return {};
}

inline Result<std::unique_ptr<uio::UioDevice>> open_uio_backend(const std::string& backend) {
  if (backend == "kernel") {
    auto dev = uio::open_kernel_uio(UniqueFd(abi::kFdUioBar), UniqueFd(abi::kFdUioIrq),
                                    UniqueFd(abi::kFdUioAux), UniqueFd(abi::kFdDma),
                                    UniqueFd(abi::kFdDmaTable));
    if (!dev) return dev.error();
    return std::unique_ptr<uio::UioDevice>(std::move(dev.value()));
  }
  auto dev = uio::EmulatedUio::attach(UniqueFd(abi::kFdUioBar), UniqueFd(abi::kFdDma),
                                      UniqueFd(abi::kFdUioIrq), UniqueFd(abi::kFdUioAux));
  if (!dev) return dev.error();
  return std::unique_ptr<uio::UioDevice>(std::move(dev.value()));
}

}  // namespace uldd::drivers
