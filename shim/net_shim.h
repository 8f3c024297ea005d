// NetShim: the trusted, kernel-facing half of a NIC. It owns the packet
// buffers (2 KiB slices of the DMA region's buffer area, NetBufferPool) and
// moves frames between a frame fd (the TAP frontend: one read() is one frame,
// one write() sends one) and the driver, through a NetDriverPort:
//
//   TX  TAP --read() straight into a free buffer (the one copy)--> tx_request
//       tx_done --> buffer back on the free list
//   RX  free buffers --> rx_free (kept full up to rx_buffers)
//       rx_done --write() from the buffer--> TAP; buffer back to rx_free
//
// Every descriptor the driver returns is checked: the buffer id must be one
// the driver holds in that direction (so each buffer comes back at most once),
// the IOVA must be that buffer's, a received length must fit the buffer. A
// violation is dropped without touching the buffer, counted, and reported once
// through on_driver_fault: a driver fault for the supervisor to act on.
//
// Back-pressure: while tx_request is full or no buffer may be used for TX, the
// TAP is not read at all; the kernel queues frames on the TAP and then drops
// them, as with any full NIC. One buffer is always left for TX: RX never takes
// more than rx_buffers.
//
// Threads: start() runs the shim's one thread; stats() may be read from any
// thread. buffer_pool() is only to be looked at once stop() returned.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/event_fd.h"
#include "common/result.h"
#include "shim/net_buffer_pool.h"
#include "shim/net_driver_port.h"

namespace uldd::shim {

inline constexpr uint32_t kNetBufferSize = 2048;

struct NetShimOptions {
  std::string device_name;
  std::byte* buffer_area = nullptr;  // the shim's mapping of the DMA buffer area
  uint64_t buffer_area_iova = 0;     // IOVA of buffer_area[0]
  uint32_t buffer_count = 0;         // packet buffers of kNetBufferSize bytes (<= 65536)
  uint32_t rx_buffers = 0;           // at most this many posted for RX (< buffer_count,
                                     //   <= the rx_free ring's capacity)
  int frame_fd = -1;                 // non-blocking; one read/write = one frame (not owned)
  uint32_t batch = 64;               // frames read from the TAP per ring publish
  // Called once, on the shim's thread, the first time the driver breaks the
  // protocol. May be empty.
  std::function<void(const std::string& reason)> on_driver_fault;
};

// Counters, readable from any thread while the shim runs. "tx" is host ->
// wire (read from the TAP, sent by the device), "rx" is wire -> host.
struct NetShimStats {
  std::atomic<uint64_t> tx_frames{0}, tx_bytes{0};  // sent: tx_done with status ok
  std::atomic<uint64_t> rx_frames{0}, rx_bytes{0};  // delivered to the TAP
  std::atomic<uint64_t> tx_errors{0};               // tx_done with status dropped/error
  std::atomic<uint64_t> rx_errors{0};               // rx_done with status dropped/error
  std::atomic<uint64_t> rx_dropped{0};              // the TAP refused a received frame
  std::atomic<uint64_t> tx_runts{0};                // TAP reads shorter than an Ethernet header
  std::atomic<uint64_t> backpressure{0};            // times the shim stopped reading the TAP
  std::atomic<uint64_t> violations{0};  // descriptors or ring indices the driver got wrong
  std::atomic<uint32_t> tx_posted{0}, rx_posted{0};  // buffers the driver holds now
};

class NetShim {
 public:
  NetShim(NetShimOptions options, std::unique_ptr<NetDriverPort> port);
  ~NetShim();
  NetShim(const NetShim&) = delete;
  NetShim& operator=(const NetShim&) = delete;

  Status start();
  // Stops the thread; the TAP is no longer read or written. Buffers the
  // driver holds stay marked as held (see buffer_pool()).
  void stop();
  bool running() const { return thread_.joinable() && !stop_requested_.load(); }

  const NetShimStats& stats() const { return stats_; }
  const std::string& name() const { return options_.device_name; }
  const NetBufferPool& buffer_pool() const { return pool_; }

 private:
  void run();
  bool harvest_tx_done();
  bool harvest_rx_done();
  bool replenish_rx();
  bool pump_tap();
  bool tx_possible();
  void violation(const std::string& reason);
  void publish_gauges();

  const NetShimOptions options_;
  std::unique_ptr<NetDriverPort> port_;
  NetShimStats stats_;
  NetBufferPool pool_;
  std::vector<uint32_t> tx_len_;  // frame length per buffer, as the shim posted it
  std::vector<abi::NetDescriptor> reap_batch_;
  bool fault_reported_ = false;
  bool tap_blocked_ = false;
  EventFd stop_wake_;
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
};

}  // namespace uldd::shim
