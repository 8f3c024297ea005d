// RingDriverPort: the isolated-mode DriverPort. The shim produces on the
// request ring and consumes the completion ring of a ring region it shares
// with a driver process; it kicks the driver's eventfd only when the driver
// said it sleeps, and sleeps on its own eventfd with the same protocol.
#pragma once

#include "abi/ring_region.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "shim/driver_port.h"

namespace uldd::shim {

class RingDriverPort final : public DriverPort {
 public:
  // `view` is the checked layout of a ring region the supervisor created;
  // `driver_wake` is the driver's eventfd (we signal it), `shim_wake` ours.
  RingDriverPort(abi::RingRegionView view, const EventFd& driver_wake, const EventFd& shim_wake);

  uint32_t submit_space() override;
  void stage(uint32_t n, const abi::BlockDescriptor& d) override { requests_.stage(n, d); }
  void commit(uint32_t count) override;
  uint32_t reap(std::span<abi::BlockDescriptor> out) override;
  int wake_fd() const override { return shim_wake_.fd(); }
  void on_wake() override { shim_wake_.drain(); }
  bool prepare_sleep(bool waiting_for_space) override;
  void finish_sleep() override;
  bool protocol_violated() const override { return violated_; }
  void reset() override;

 private:
  abi::RingRegionView view_;
  abi::SpscProducer<abi::BlockDescriptor> requests_;
  abi::SpscConsumer<abi::BlockDescriptor> completions_;
  const EventFd& driver_wake_;
  const EventFd& shim_wake_;
  bool violated_ = false;
};

}  // namespace uldd::shim
