// FakeNetPort: the driver's side of a NetShim, driven by a test, behind the
// NetDriverPort seam. It records what the shim posts (TX requests, RX free
// buffers) and returns whatever the test tells it to, honest or hostile, so
// the shim's checks and its timing (back-pressure, the TX watch) can be seen
// without a driver process or a device. Header-only; for tests.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "abi/net_descriptor.h"
#include "common/event_fd.h"
#include "shim/net_driver_port.h"

namespace uldd::shim::fakes {

using abi::NetDescriptor;

class FakeNetPort final : public NetDriverPort {
 public:
  explicit FakeNetPort(uint32_t tx_capacity) : tx_capacity_(tx_capacity) {
    wake_ = std::move(EventFd::create().value());
  }

  uint32_t tx_space() override {
    std::lock_guard l(mu_);
    return tx_capacity_ - static_cast<uint32_t>(tx_requests_.size() + staged_tx_.size());
  }
  void stage_tx(uint32_t, const NetDescriptor& d) override {
    std::lock_guard l(mu_);
    staged_tx_.push_back(d);
  }
  void commit_tx(uint32_t count) override {
    std::lock_guard l(mu_);
    EXPECT_EQ(count, staged_tx_.size());
    if (count > 0) ++tx_commits_;
    for (auto& d : staged_tx_) tx_requests_.push_back(d);
    staged_tx_.clear();
  }
  uint32_t rx_free_space() override { return 1024; }
  void stage_rx_free(uint32_t, const NetDescriptor& d) override {
    std::lock_guard l(mu_);
    rx_free_.push_back(d);
  }
  void commit_rx_free(uint32_t) override {}
  uint32_t reap_tx_done(std::span<NetDescriptor> out) override { return pop(tx_done_, out); }
  uint32_t reap_rx_done(std::span<NetDescriptor> out) override { return pop(rx_done_, out); }
  int wake_fd() const override { return wake_.fd(); }
  void on_wake() override { wake_.drain(); }
  bool prepare_sleep(bool) override {
    std::lock_guard l(mu_);
    return !tx_done_.empty() || !rx_done_.empty();
  }
  void finish_sleep() override {}
  bool protocol_violated() const override { return false; }
  void reset() override {}

  // Test side.
  std::vector<NetDescriptor> take_tx_requests() {
    std::lock_guard l(mu_);
    std::vector<NetDescriptor> v(tx_requests_.begin(), tx_requests_.end());
    tx_requests_.clear();
    return v;
  }
  size_t tx_request_count() {
    std::lock_guard l(mu_);
    return tx_requests_.size();
  }
  std::vector<NetDescriptor> rx_free() {
    std::lock_guard l(mu_);
    return {rx_free_.begin(), rx_free_.end()};
  }
  NetDescriptor take_rx_free() {
    std::lock_guard l(mu_);
    NetDescriptor d = rx_free_.front();
    rx_free_.pop_front();
    return d;
  }
  void complete_tx(const NetDescriptor& d) { push(tx_done_, d); }
  void complete_rx(const NetDescriptor& d) { push(rx_done_, d); }
  int tx_commits() {
    std::lock_guard l(mu_);
    return tx_commits_;
  }

 private:
  uint32_t pop(std::deque<NetDescriptor>& q, std::span<NetDescriptor> out) {
    std::lock_guard l(mu_);
    uint32_t n = 0;
    while (n < out.size() && !q.empty()) {
      out[n++] = q.front();
      q.pop_front();
    }
    return n;
  }
  void push(std::deque<NetDescriptor>& q, const NetDescriptor& d) {
    {
      std::lock_guard l(mu_);
      q.push_back(d);
    }
    wake_.signal();
  }

  const uint32_t tx_capacity_;
  std::mutex mu_;
  std::vector<NetDescriptor> staged_tx_;
  std::deque<NetDescriptor> tx_requests_, tx_done_, rx_done_, rx_free_;
  int tx_commits_ = 0;
  EventFd wake_;
};

}  // namespace uldd::shim::fakes
