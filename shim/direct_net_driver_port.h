// DirectNetDriverPort: the colocated-mode NetDriverPort. The e1000 driver core
// lives in the shim's process and the shim's thread calls it directly: no
// rings, no second process, no kicks between them; the device's interrupt
// eventfd is what wakes the shim. The baseline the isolation benchmarks
// compare against. `Driver` is any type with E1000Driver's shape
// (tx_free_slots, transmit, reap_tx, rx_free_slots, post_rx, reap_rx,
// ring_doorbells, irq_fd, on_interrupt).
#pragma once

#include "shim/net_driver_port.h"

namespace uldd::shim {

template <class Driver>
class DirectNetDriverPort final : public NetDriverPort {
 public:
  explicit DirectNetDriverPort(Driver& driver) : driver_(driver) {}

  uint32_t tx_space() override { return driver_.tx_free_slots(); }
  void stage_tx(uint32_t, const abi::NetDescriptor& d) override { driver_.transmit(d); }
  void commit_tx(uint32_t count) override {
    if (count > 0) driver_.ring_doorbells();
  }
  uint32_t rx_free_space() override { return driver_.rx_free_slots(); }
  void stage_rx_free(uint32_t, const abi::NetDescriptor& d) override { driver_.post_rx(d); }
  void commit_rx_free(uint32_t count) override {
    if (count > 0) driver_.ring_doorbells();
  }
  uint32_t reap_tx_done(std::span<abi::NetDescriptor> out) override {
    return static_cast<uint32_t>(driver_.reap_tx(out));
  }
  uint32_t reap_rx_done(std::span<abi::NetDescriptor> out) override {
    return static_cast<uint32_t>(driver_.reap_rx(out));
  }
  int wake_fd() const override { return driver_.irq_fd(); }
  void on_wake() override { (void)driver_.on_interrupt(); }
  // The device's interrupt is what wakes us; there is no peer to tell.
  bool prepare_sleep(bool) override { return false; }
  void finish_sleep() override {}
  bool protocol_violated() const override { return false; }
  // A colocated driver dies with the supervisor: nothing is ever restarted.
  void reset() override {}

 private:
  Driver& driver_;
};

}  // namespace uldd::shim
