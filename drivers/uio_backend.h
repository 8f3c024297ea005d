// The device of a driver process, from the backend named on its command line
// (--uio=emulated|kernel) and the fds of abi/driver_fds.h. Both drivers
// (uldd-nvme-driver, uldd-e1000-driver) run the same code on either backend;
// this is the only place where they differ.
//   emulated: BAR memfd (9), IRQ eventfd (10), doorbell eventfd (11), DMA memfd (8)
//   kernel:   BAR0 (9), /dev/uioN (10), PCI config file (11), DMA memfd (8),
//             sealed DMA address table (13, abi/dma_address_table.h)
#pragma once

#include <fcntl.h>

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
