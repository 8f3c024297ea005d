// E1000DriverLoopTest: the fixture of the E1000DriverLoop tests — the loop
// on its own thread with E1000Driver over a loopback FakeE1000Device, the
// test thread playing the shim on the four rings of an in-memory
// NetRingRegion. Shared by e1000_driver_loop_test.cc and
// e1000_fault_point_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "abi/net_ring_region.h"
#include "common/event_fd.h"
#include "drivers/e1000/e1000_driver_loop.h"
#include "drivers/e1000/e1000_test_support.h"

namespace uldd::drivers::testing {

using abi::NetDescriptor;
using abi::NetRing;

class E1000DriverLoopTest : public E1000DriverFixture {
 protected:
  void SetUp() override {
    start();
    dev_->loopback = true;
    header_ = abi::net_ring_region_layout(32, 64);
    region_ = static_cast<std::byte*>(std::aligned_alloc(4096, header_.region_size));
    std::memset(region_, 0, header_.region_size);
    std::memcpy(region_, &header_, sizeof header_);
    view_ = abi::NetRingRegionView{region_, header_};
    driver_wake_ = EventFd::create().value();
    shim_wake_ = EventFd::create().value();
    E1000DriverLoop::Options opts;
    opts.heartbeat_interval = std::chrono::milliseconds(20);
    opts.drain_timeout = std::chrono::milliseconds(500);
    loop_ = std::make_unique<E1000DriverLoop>(*driver_, view_, driver_wake_.fd(), shim_wake_.fd(),
                                              cb_.get(), opts);
  }
  void TearDown() override {
    if (thread_.joinable()) {
      loop_->request_stop();
      driver_wake_.signal();
      thread_.join();
    }
    std::free(region_);
  }
  void run_loop() {
    thread_ = std::thread([this] { result_ = loop_->run(); });
  }
  Status stop_loop() {
    loop_->request_stop();
    driver_wake_.signal();
    thread_.join();
    return result_;
  }
  // Publishes descriptors on a shim->driver ring and kicks if asked to.
  void publish(abi::SpscProducer<NetDescriptor>& p, const std::vector<NetDescriptor>& ds) {
    ASSERT_GE(p.free_slots(), ds.size());
    for (size_t i = 0; i < ds.size(); ++i) p.stage(static_cast<uint32_t>(i), ds[i]);
    if (p.publish(static_cast<uint32_t>(ds.size()))) driver_wake_.signal();
  }
  // Takes everything on a driver->shim ring.
  std::vector<NetDescriptor> take(abi::SpscConsumer<NetDescriptor>& c) {
    std::vector<NetDescriptor> r;
    uint32_t n = c.available();
    for (uint32_t i = 0; i < n; ++i) r.push_back(c.peek(i));
    if (n != 0 && c.release(n)) driver_wake_.signal();
    return r;
  }
  // Sleeps like a shim would: ask the driver for kicks on both done rings,
  // re-check, then wait on the shim-wake eventfd (bounded, in case of a bug).
  void wait_shim_wake(abi::SpscConsumer<NetDescriptor>& a, abi::SpscConsumer<NetDescriptor>& b) {
    bool raced = a.prepare_sleep();
    if (!raced && b.prepare_sleep()) {
      a.finish_sleep();
      raced = true;
    }
    if (raced) return;
    pollfd p{shim_wake_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) shim_wake_.drain();
    a.finish_sleep();
    b.finish_sleep();
  }

  abi::NetRingRegionHeader header_{};
  std::byte* region_ = nullptr;
  abi::NetRingRegionView view_{};
  EventFd driver_wake_;
  EventFd shim_wake_;
  std::unique_ptr<E1000DriverLoop> loop_;
  std::thread thread_;
  Status result_;
};

}  // namespace uldd::drivers::testing
