// The UioDevice of a colocated driver (DriverMode::kColocated), which runs in
// the supervisor on copies of the fds an isolated driver would be given
// (abi/driver_fds.h): the device model's BAR memfd and eventfds, or a real
// device's files and DMA address table. Shared by DiskDevice and NicDevice.
#pragma once

#include <fcntl.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "supervisor/kernel_device_files.h"
#include "uio/emulated_uio.h"
#include "uio/table_dma_region.h"
#include "uio/uio_device.h"

namespace uldd::supervisor {

inline Result<UniqueFd> dup_fd(int fd, const std::string& what) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return errno_error("dup(" + what + ")");
  return UniqueFd(d);
}

// The emulated device of resources `r` (bar, dma, irq, doorbell).
template <class Resources>
Result<std::unique_ptr<uio::UioDevice>> open_emulated_device(const Resources& r) {
  auto bar = dup_fd(r.bar.fd(), "BAR");
  auto dma = dup_fd(r.dma.fd(), "DMA");
  auto irq = dup_fd(r.irq.fd(), "irq");
  auto db = dup_fd(r.doorbell.fd(), "doorbell");
  for (auto* f : {&bar, &dma, &irq, &db})
    if (!*f) return f->error();
  auto uio = uio::EmulatedUio::attach(std::move(bar.value()), std::move(dma.value()),
                                      std::move(irq.value()), std::move(db.value()));
  if (!uio) return uio.error();
  return std::unique_ptr<uio::UioDevice>(std::move(uio.value()));
}

// The real device of `k`, its DMA memory mapped from `dma_fd`, exactly as an
// isolated driver builds it (uio/table_dma_region.h).
inline Result<std::unique_ptr<uio::UioDevice>> open_kernel_device(const KernelDeviceFiles& k,
                                                                  int dma_fd) {
  auto bar = dup_fd(k.bar_fd(), "BAR0");
  auto irq = dup_fd(k.irq_fd(), "/dev/uio");
  auto config = dup_fd(k.config_fd(), "PCI config");
  auto dma = dup_fd(dma_fd, "DMA");
  auto table = dup_fd(k.table_fd(), "DMA address table");
  for (auto* f : {&bar, &irq, &config, &dma, &table})
    if (!*f) return f->error();
  auto uio = uio::open_kernel_uio(std::move(bar.value()), std::move(irq.value()),
                                  std::move(config.value()), std::move(dma.value()),
                                  std::move(table.value()));
  if (!uio) return uio.error();
  return std::unique_ptr<uio::UioDevice>(std::move(uio.value()));
}

}  // namespace uldd::supervisor
