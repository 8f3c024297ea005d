// RingNetDriverPort: the isolated-mode NetDriverPort. The shim produces on
// tx_request and rx_free and consumes tx_done and rx_done of a net ring region
// it shares with a driver process. It kicks the driver's eventfd only when the
// driver said it sleeps (or waits for space on a done ring), once per batch,
// and sleeps on its own eventfd under the same need-wakeup protocol.
#pragma once

#include "abi/net_ring_region.h"
#include "common/event_fd.h"
#include "shim/net_driver_port.h"

namespace uldd::shim {

class RingNetDriverPort final : public NetDriverPort {
 public:
  // `view` is the checked layout of a net ring region the supervisor created;
  // `driver_wake` is the driver's eventfd (we signal it), `shim_wake` ours.
  RingNetDriverPort(const abi::NetRingRegionView& view, const EventFd& driver_wake,
                    const EventFd& shim_wake);

  uint32_t tx_space() override { return space(tx_request_); }
  void stage_tx(uint32_t n, const abi::NetDescriptor& d) override { tx_request_.stage(n, d); }
  void commit_tx(uint32_t count) override { commit(tx_request_, count); }
  uint32_t rx_free_space() override { return space(rx_free_); }
  void stage_rx_free(uint32_t n, const abi::NetDescriptor& d) override { rx_free_.stage(n, d); }
  void commit_rx_free(uint32_t count) override { commit(rx_free_, count); }
  uint32_t reap_tx_done(std::span<abi::NetDescriptor> out) override { return reap(tx_done_, out); }
  uint32_t reap_rx_done(std::span<abi::NetDescriptor> out) override { return reap(rx_done_, out); }
  int wake_fd() const override { return shim_wake_.fd(); }
  void on_wake() override { shim_wake_.drain(); }
  bool prepare_sleep(bool waiting_for_tx_space) override;
  void finish_sleep() override;
  bool protocol_violated() const override { return violated_; }
  void reset() override;

 private:
  using Producer = abi::SpscProducer<abi::NetDescriptor>;
  using Consumer = abi::SpscConsumer<abi::NetDescriptor>;
  uint32_t space(Producer& p);
  void commit(Producer& p, uint32_t count);
  uint32_t reap(Consumer& c, std::span<abi::NetDescriptor> out);

  abi::NetRingRegionView view_;
  Producer tx_request_;
  Consumer tx_done_;
  Producer rx_free_;
  Consumer rx_done_;
  const EventFd& driver_wake_;
  const EventFd& shim_wake_;
  bool violated_ = false;
};

}  // namespace uldd::shim
