// UioDevice: how a driver reaches its device, whichever backend provides it.
//
// A driver sees three things of a PCI device: BAR0 registers (MMIO), one
// interrupt line, and a DMA region the device can read and write. Two backends
// provide them behind this one interface, and the driver code does not know
// which it has:
//   - kernel UIO (uio/kernel_uio.h): BAR0 mapped from sysfs resource0, INTx
//     through /dev/uioN (read a 4-byte count; uio_pci_generic is unmasked by
//     clearing Interrupt Disable in the PCI command register), DMA memory
//     whose bus addresses the supervisor read from /proc/self/pagemap
//     (uio/table_dma_region.h);
//   - emulated UIO (uio/emulated_uio.h): BAR0 is a memfd shared with a device
//     model process, the interrupt an eventfd, and a register write is
//     followed by a kick on a doorbell eventfd, as KVM's ioeventfd would
//     (write32_lazy() stores without the kick).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace uldd::uio {

// DMA memory: the buffers and device queues, addressed by IOVA (an offset into
// the region). Only the driver's DMA layer turns an IOVA into the address the
// device is told.
class DmaRegion {
 public:
  virtual ~DmaRegion() = default;
  virtual std::byte* base() const = 0;
  virtual size_t size() const = 0;
  // The address the device must be given for `iova`. Emulated: the IOVA
  // itself. Kernel: a physical address, valid within one page (or one huge
  // page) only; callers split at page boundaries.
  virtual uint64_t device_address(uint64_t iova) const = 0;

  bool contains(uint64_t iova, uint64_t len) const {
    return iova <= size() && len <= size() - iova;
  }
  template <class T>
  T* at(uint64_t iova) const {
    return reinterpret_cast<T*>(base() + iova);
  }
};

class UioDevice {
 public:
  virtual ~UioDevice() = default;

  virtual std::string_view backend_name() const = 0;

  // BAR0 MMIO. `offset` is 4-byte aligned and below bar_size(); callers check.
  virtual size_t bar_size() const = 0;
  virtual uint32_t read32(size_t offset) const = 0;
  virtual void write32(size_t offset, uint32_t value) = 0;
  // A register write the device need not act on at once (NVMe CQ head
  // doorbells of a driver that never lets a CQ fill). Hardware sees an
  // ordinary posted MMIO write; the emulated backend stores it without waking
  // the model, like an address KVM has no ioeventfd for whose value the VMM
  // picks up at its next exit. A write that must make the device do something
  // (start a command, raise a level-triggered interrupt again) uses write32().
  virtual void write32_lazy(size_t offset, uint32_t value) { write32(offset, value); }
  // 64-bit registers as two 32-bit accesses, low dword first (NVMe 1.4 §3.1
  // allows this for CAP/ASQ/ACQ; e1000 has no 64-bit registers).
  uint64_t read64(size_t offset) const {
    uint64_t lo = read32(offset);
    uint64_t hi = read32(offset + 4);
    return lo | (hi << 32);
  }
  void write64(size_t offset, uint64_t value) {
    write32(offset, static_cast<uint32_t>(value));
    write32(offset + 4, static_cast<uint32_t>(value >> 32));
  }

  // Interrupts. irq_fd() becomes readable when the device interrupts.
  virtual int irq_fd() const = 0;
  // Takes the pending interrupt notification; returns how many arrived since
  // the last call (0 if none). Kernel UIO: the line stays masked until
  // unmask_irq().
  virtual Result<uint32_t> take_irq() = 0;
  virtual Status unmask_irq() = 0;

  virtual DmaRegion& dma() = 0;
};

}  // namespace uldd::uio
