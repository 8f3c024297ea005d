// DirectDriverPort: the colocated-mode DriverPort. The driver object lives in
// the shim's process and the shim's thread calls it directly: no rings, no
// second process, no kicks between them. This is uldd's analogue of an
// in-kernel driver, the baseline the isolation benchmarks compare against.
// `Driver` is any type with the NvmeDriver core's shape (free_slots, submit,
// ring_doorbells, reap, irq_fd, on_interrupt).
#pragma once

#include "shim/driver_port.h"

namespace uldd::shim {

template <class Driver>
class DirectDriverPort final : public DriverPort {
 public:
  explicit DirectDriverPort(Driver& driver) : driver_(driver) {}

  uint32_t submit_space() override { return driver_.free_slots(); }
  void stage(uint32_t, const abi::BlockDescriptor& d) override { driver_.submit(d); }
  void commit(uint32_t count) override {
    if (count > 0) driver_.ring_doorbells();
  }
  uint32_t reap(std::span<abi::BlockDescriptor> out) override {
    return static_cast<uint32_t>(driver_.reap(out));
  }
  int wake_fd() const override { return driver_.irq_fd(); }
  void on_wake() override { (void)driver_.on_interrupt(); }
  // The device's interrupt is what wakes us; there is no peer to tell.
  bool prepare_sleep(bool) override { return false; }
  void finish_sleep() override {}
  bool protocol_violated() const override { return false; }
  // The colocated driver lives and dies with the shim's process.
  void reset() override {}

 private:
  Driver& driver_;
};

}  // namespace uldd::shim
