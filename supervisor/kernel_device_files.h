// KernelDeviceFiles: what the supervisor (root) prepares for a driver of a real
// PCI device bound to uio_pci_generic (`uio = "kernel:..."`), and keeps for the
// device's life.
//
// The driver runs unprivileged in a sandbox and opens nothing, so the
// supervisor opens BAR0 (sysfs resource0, or /dev/uioN when the UIO driver
// lists map0), the interrupt file /dev/uioN and the PCI config file; it
// switches on memory decoding and bus mastering (and clears INTx disable) in
// the command register. The driver gets the config file too, because
// uio_pci_generic has no irqcontrol: the only way to unmask INTx after an
// interrupt is to clear Interrupt Disable in the command register (a driver
// that can DMA anywhere, as every driver without an IOMMU can, gains nothing
// from config space it did not already have). It creates the DMA memfd (hugetlb when
// the pool has pages, else ordinary shmem), keeps it mapped, faulted in and
// locked for as long as this object lives so that no page moves under the
// device, and computes the bus address of every DMA page from pagemap — an
// unprivileged driver reads PFN 0 there. The addresses go into a small memfd,
// the DmaAddressTable (abi/dma_address_table.h), written here and sealed
// against writes before any driver sees it.
//
// A driver gets, at the fds of abi/driver_fds.h: kFdDma = dma_fd(),
// kFdUioBar = bar_fd(), kFdUioIrq = irq_fd(), kFdUioAux = config_fd(),
// kFdDmaTable = table_fd().
// uio/table_dma_region.h is the driver's side.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/shared_memory.h"
#include "common/unique_fd.h"
#include "supervisor/kernel_uio_target.h"
#include "uio/kernel_uio.h"
#include "uio/pagemap_dma_region.h"

namespace uldd::supervisor {

struct KernelDeviceOptions {
  // Test seams: a fake sysfs/dev tree and pagemap (uio/kernel_uio.h).
  std::filesystem::path sysfs_root = "/sys";
  std::filesystem::path dev_root = "/dev";
  const uio::PagemapSource* pagemap = nullptr;  // null: /proc/self/pagemap
};

class KernelDeviceFiles {
 public:
  // `device` names the memfds and error messages; `dma_size` is the DMA
  // region the configuration needs (rounded up to whole DMA pages).
  static Result<std::unique_ptr<KernelDeviceFiles>> open(const std::string& device,
                                                         const KernelUioTarget& target,
                                                         size_t dma_size,
                                                         const KernelDeviceOptions& options = {});

  // open() for a device whose regions exist already: `dma` (sized as the
  // configuration needs) is replaced by a mapping of the pinned DMA memfd,
  // so that the shim, the driver and the device share that one.
  static Result<std::unique_ptr<KernelDeviceFiles>> open_replacing_dma(
      const std::string& device, const KernelUioTarget& target, SharedMemory& dma,
      const KernelDeviceOptions& options = {});
  // Switches bus mastering off: the DMA pages are unlocked and freed with
  // this object, and a device left running must not write into them.
  ~KernelDeviceFiles();
  KernelDeviceFiles(const KernelDeviceFiles&) = delete;
  KernelDeviceFiles& operator=(const KernelDeviceFiles&) = delete;

  const uio::KernelUioLocation& location() const { return location_; }
  int bar_fd() const { return bar_.get(); }
  int irq_fd() const { return irq_.get(); }
  int config_fd() const { return config_.get(); }
  int table_fd() const { return table_.get(); }
  int dma_fd() const { return dma_fd_.get(); }
  // The pinned DMA region (the supervisor's mapping: mlocked, or hugetlb).
  const uio::PagemapDmaRegion& pinned_dma() const { return *pinned_; }
  // Another mapping of the same DMA memory, for the shim's buffers.
  Result<SharedMemory> map_dma() const;
  // "0000:00:04.0 (uio0, BAR0 16 KiB from resource0, DMA 34 MiB in 2 MiB pages)".
  std::string describe() const;

 private:
  KernelDeviceFiles() = default;
  uio::KernelUioLocation location_;
  UniqueFd bar_;
  UniqueFd irq_;
  UniqueFd config_;
  UniqueFd dma_fd_;
  UniqueFd table_;
  std::unique_ptr<uio::PagemapDmaRegion> pinned_;
};

// Sets memory space and bus master and clears INTx disable in the command
// register of the PCI config file `config` (PCI Local Bus 3.0, 6.2.2).
// Returns the register as written.
Result<uint16_t> enable_bus_mastering(int config, const std::string& what);

}  // namespace uldd::supervisor
