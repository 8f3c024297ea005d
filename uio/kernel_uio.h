// KernelUio: the UioDevice of a real PCI device bound to a kernel UIO driver
// (uio_pci_generic, or another UIO driver that describes its memory in sysfs).
//
// What the kernel really offers (ARCHITECTURE.md, "Kernel UIO as it really
// is"): uio_pci_generic has no maps/ in sysfs, so BAR0 is mapped from
// /sys/bus/pci/devices/<bdf>/resource0; other UIO drivers list their memory
// in /sys/class/uio/uioN/maps/mapK and it is mapped from /dev/uioN at offset
// K * page size. We use map0 when it exists, resource0 otherwise. The
// interrupt is /dev/uioN: read() yields the 4-byte running interrupt count.
// uio_pci_generic masks INTx on each interrupt by setting Interrupt Disable in
// the PCI command register and has no irqcontrol (write() to /dev/uioN fails),
// so with a config file the line is unmasked by clearing that bit again;
// without one (UIO drivers that have irqcontrol) by write() of a 4-byte 1.
// Bus mastering, without which the device cannot DMA, is switched on in the
// PCI config file.
//
// Two ways in: open() finds and opens everything itself (tools, tests, a
// supervisor preparing a device); adopt() builds the device from files opened
// elsewhere, which is how a sandboxed driver gets them (abi/driver_fds.h).
// Every path is under a configurable sysfs and dev root, so the tests run
// against a fake tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "uio/pagemap_dma_region.h"
#include "uio/uio_device.h"

namespace uldd::uio {

struct KernelUioOptions {
  std::filesystem::path sysfs_root = "/sys";
  std::filesystem::path dev_root = "/dev";
  // The device: its PCI address ("0000:00:04.0"), or when that is empty the
  // first device (in address order) with this vendor:device id that is bound
  // to a UIO driver.
  std::string bdf;
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  // DMA memory: a memfd to adopt (borrowed; open() dups it), else a new one
  // of dma_size bytes from create_dma_memfd().
  int dma_memfd = -1;
  size_t dma_size = 0;
  // Physical addresses: from this pagemap file, unless `pagemap` is given.
  std::filesystem::path pagemap_path = "/proc/self/pagemap";
  const PagemapSource* pagemap = nullptr;
  // Test seam: an fd to use as the interrupt fd instead of /dev/uioN
  // (borrowed; dup'ed). It must behave like /dev/uioN: 4-byte reads, writes.
  int irq_fd = -1;
  bool enable_bus_master = true;
};

// Where a device's files are, as found in sysfs.
struct KernelUioLocation {
  std::string bdf;
  unsigned uio_index = 0;             // N of uioN
  std::filesystem::path dev_path;     // /dev/uioN
  std::filesystem::path config_path;  // .../<bdf>/config
  std::filesystem::path bar_path;     // resource0, or dev_path when `bar_from_uio_map`
  bool bar_from_uio_map = false;      // BAR is maps/map0 of /dev/uioN
  uint64_t bar_size = 0;              // bytes of BAR0 / map0
  uint64_t bar_page_offset = 0;       // maps/map0/offset: where in the first page it starts
  uint32_t irq_count_at_open = 0;     // /sys/class/uio/uioN/event, when readable
};

Result<KernelUioLocation> locate_kernel_uio(const KernelUioOptions& options);

// The open files of a located device: what the supervisor hands a driver.
struct KernelUioFiles {
  UniqueFd bar;     // resource0, or /dev/uioN (mapped at offset 0 = map0)
  UniqueFd irq;     // /dev/uioN
  UniqueFd config;  // PCI config space; invalid = leave the command register alone and
                    //   unmask through irq (a UIO driver with irqcontrol)
  uint64_t bar_size = 0;
  uint64_t bar_page_offset = 0;
  uint32_t irq_count = 0;  // interrupt count when irq was opened
};

class KernelUio final : public UioDevice {
 public:
  static Result<std::unique_ptr<KernelUio>> open(const KernelUioOptions& options);
  // Maps the BAR, switches on bus mastering (when `files.config` is valid)
  // and takes ownership of everything.
  static Result<std::unique_ptr<KernelUio>> adopt(KernelUioFiles files,
                                                  std::unique_ptr<DmaRegion> dma);
  ~KernelUio() override;
  KernelUio(const KernelUio&) = delete;
  KernelUio& operator=(const KernelUio&) = delete;

  std::string_view backend_name() const override { return "kernel"; }
  size_t bar_size() const override { return bar_size_; }
  // MMIO: one volatile 32-bit access each, which the compiler may neither
  // merge, split nor drop; x86 keeps uncached MMIO accesses in program order.
  uint32_t read32(size_t offset) const override {
    return *reinterpret_cast<const volatile uint32_t*>(bar_ + offset);
  }
  void write32(size_t offset, uint32_t value) override {
    *reinterpret_cast<volatile uint32_t*>(bar_ + offset) = value;
  }
  int irq_fd() const override { return irq_.get(); }
  // Interrupts since the last call: the kernel's count minus the last count
  // seen, at least 1 whenever a count could be read (a read only succeeds
  // when the count moved). 0 when nothing is pending.
  Result<uint32_t> take_irq() override;
  Status unmask_irq() override;
  DmaRegion& dma() override { return *dma_; }

  // PCI command register bits (PCI Local Bus 3.0, section 6.2.2).
  static constexpr uint16_t kCommandMemorySpace = 1u << 1;
  static constexpr uint16_t kCommandBusMaster = 1u << 2;
  static constexpr uint16_t kCommandIntxDisable = 1u << 10;

 private:
  KernelUio() = default;

  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  volatile std::byte* bar_ = nullptr;
  size_t bar_size_ = 0;
  UniqueFd irq_;
  UniqueFd config_;
  uint32_t last_count_ = 0;
  std::unique_ptr<DmaRegion> dma_;
};

}  // namespace uldd::uio
