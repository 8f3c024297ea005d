// Emulated UIO: both ends of a device that is played by a model process.
//
// Driver end (EmulatedUio, a UioDevice): BAR0 is a shared memfd; a register
// read is an acquire load from it, a register write a release store followed
// by a kick on the doorbell eventfd (the model wakes and looks at what
// changed, as a KVM ioeventfd handler would). write32_lazy() is the store
// alone: the model reads every register it cares about whenever it wakes, so
// the value is taken at its next wake-up, and a kick (one write(2) here, one
// wake-up and two syscalls in the model) is saved. The model must not depend
// on lazy writes for progress; the NVMe model re-reads CQ heads on a short
// timer while it is stalled on a full CQ. The interrupt is an eventfd the
// model signals.
//
// Model end (EmulatedBarHost): the same BAR memfd, the doorbell eventfd to
// wait on, and the interrupt eventfd to signal.
//
// Registers are 32-bit and accessed through std::atomic_ref by both ends, so a
// register is never torn; the model must still treat every value the driver
// stored as untrusted input.
//
// Register side effects (e1000): a model that publishes an MMIO side band at
// the end of the BAR memfd (uio/mmio_sideband.h) before it reports power-on
// gets PCI-like semantics from the same driver calls: write32() appends
// {offset, value} to the write log and kicks, write32_lazy() appends without
// the kick, read32() first waits until the model has applied every logged
// write and is an atomic exchange with 0 on a read-to-clear offset. attach()
// looks for the side band once; without one (NVMe) nothing changes. The log
// has one producer: an EmulatedUio is used by one thread, as a driver is.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "uio/mmio_sideband.h"
#include "uio/uio_device.h"

namespace uldd::uio {

inline uint32_t load_register(const std::byte* bar, size_t offset) {
  auto* p = const_cast<uint32_t*>(reinterpret_cast<const uint32_t*>(bar + offset));
  return std::atomic_ref<uint32_t>(*p).load(std::memory_order_acquire);
}
inline void store_register(std::byte* bar, size_t offset, uint32_t value) {
  auto* p = reinterpret_cast<uint32_t*>(bar + offset);
  std::atomic_ref<uint32_t>(*p).store(value, std::memory_order_release);
}

// DMA region of the emulated backend: IOVA = device address.
class MemfdDmaRegion final : public DmaRegion {
 public:
  explicit MemfdDmaRegion(SharedMemory memory) : memory_(std::move(memory)) {}
  std::byte* base() const override { return memory_.data(); }
  size_t size() const override { return memory_.size(); }
  uint64_t device_address(uint64_t iova) const override { return iova; }

 private:
  SharedMemory memory_;
};

class EmulatedUio final : public UioDevice {
 public:
  // Takes ownership of the four fds handed to the driver.
  static Result<std::unique_ptr<EmulatedUio>> attach(UniqueFd bar, UniqueFd dma, UniqueFd irq,
                                                     UniqueFd doorbell);

  // How long a write waits for room in a full log, or a read for the model to
  // apply the logged writes, before it gives up (the model is gone or hung: a
  // read then returns what the BAR holds, a write is dropped and counted, as
  // MMIO to a dead function goes nowhere). Generous: a model under ASan on a
  // loaded machine still answers well within it.
  static constexpr std::chrono::milliseconds kModelTimeout{2000};

  std::string_view backend_name() const override { return "emulated"; }
  size_t bar_size() const override { return bar_.size(); }
  uint32_t read32(size_t offset) const override {
    if (log_ == nullptr) return load_register(bar_.data(), offset);
    return read_through_log(offset);
  }
  void write32(size_t offset, uint32_t value) override {
    if (log_ == nullptr) {
      store_register(bar_.data(), offset, value);
    } else {
      append_write(offset, value);
    }
    doorbell_.signal();
  }
  void write32_lazy(size_t offset, uint32_t value) override {
    if (log_ == nullptr) {
      store_register(bar_.data(), offset, value);
    } else {
      append_write(offset, value);
    }
  }
  int irq_fd() const override { return irq_.fd(); }
  Result<uint32_t> take_irq() override { return static_cast<uint32_t>(irq_.drain()); }
  Status unmask_irq() override { return {}; }
  DmaRegion& dma() override { return dma_; }

  // True when the model published a side band (writes are logged).
  bool write_log_enabled() const { return log_ != nullptr; }
  // Writes dropped and reads that gave up because the model did not answer
  // within kModelTimeout.
  uint64_t model_timeouts() const { return model_timeouts_; }

 private:
  EmulatedUio(SharedMemory bar, SharedMemory dma, EventFd irq, EventFd doorbell);

  void append_write(size_t offset, uint32_t value);
  uint32_t read_through_log(size_t offset) const;
  bool is_read_to_clear(size_t offset) const;

  SharedMemory bar_;
  MemfdDmaRegion dma_;
  EventFd irq_;
  EventFd doorbell_;
  // Side band, if the model published one (trusted: written before power-on).
  SidebandLayout* log_ = nullptr;
  uint32_t log_tail_ = 0;  // private copy of log_->log_tail: this end is its only writer
  uint32_t read_to_clear_count_ = 0;
  ReadToClearRange read_to_clear_[kMaxReadToClearRanges] = {};
  mutable uint64_t model_timeouts_ = 0;
};

class EmulatedBarHost {
 public:
  EmulatedBarHost(SharedMemory bar, SharedMemory dma, EventFd irq, EventFd doorbell)
      : bar_(std::move(bar)),
        dma_(std::move(dma)),
        irq_(std::move(irq)),
        doorbell_(std::move(doorbell)) {}

  uint32_t reg(size_t offset) const { return load_register(bar_.data(), offset); }
  void set_reg(size_t offset, uint32_t value) { store_register(bar_.data(), offset, value); }
  size_t bar_size() const { return bar_.size(); }

  std::byte* dma_base() const { return dma_.data(); }
  size_t dma_size() const { return dma_.size(); }

  // Waits for the driver's next register write (or `timeout`); returns the
  // number of kicks taken, 0 on timeout.
  Result<uint64_t> wait_doorbell(std::chrono::microseconds timeout) const {
    return doorbell_.wait_for(timeout);
  }
  int doorbell_fd() const { return doorbell_.fd(); }
  void raise_irq() const { irq_.signal(); }

 private:
  SharedMemory bar_;
  SharedMemory dma_;
  EventFd irq_;
  EventFd doorbell_;
};

}  // namespace uldd::uio
