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
// Recovery (architecture, "Recovery protocol"; docs/recovery.md): when the
// driver dies the supervisor calls hold(): nothing more goes to the driver
// (TX: the TAP is simply not read, so the kernel queues frames and then drops
// them like any full NIC; RX: no buffers are posted). Before the successor
// starts, restart() — run on the shim's thread — takes every tx_done/rx_done
// the dead driver still posted (they are real), zeroes the ring indices, and
// goes through the buffer owners: each TX frame the driver held is reissued
// ahead of new frames, in the order it was first read from the TAP
// (TxResendMode::kReissue), or dropped and counted (kDrop); each RX buffer
// the device held is quarantined. Quarantined buffers (RX, dropped TX) are
// not reused until release_quarantine() says the device was reset: until
// then the old device could still write a received frame into one, or read
// one for sending. Every buffer comes back at most once: it changes owner
// exactly once per step and the successor can only return what it was given.
// A warm successor (TxResendMode::kAdopt) keeps the device as it is, so the
// shim resends every TX frame and RX buffer the dead driver held, flagged
// kNetFlagAdopt, oldest first, and restart() returns how many (the launch's
// adopt_count); if that successor refuses, a second restart() for cold
// quarantines and reissues them as above.
//
// Threads: start() runs the shim's one thread; stats() may be read from any
// thread. buffer_pool() is only to be looked at once stop() returned.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/event_fd.h"
#include "common/result.h"
#include "shim/net_buffer_pool.h"
#include "shim/net_driver_port.h"

namespace uldd::shim {

inline constexpr uint32_t kNetBufferSize = 2048;

// What restart() does with the buffers the dead driver held. kReissue /
// kDrop (policy [recovery] nic_tx_inflight) prepare a cold successor: TX
// frames are reissued or dropped, RX buffers quarantined. kAdopt prepares a
// warm one: every TX frame and RX buffer is resent flagged kNetFlagAdopt,
// first in tx_request / rx_free, and nothing is quarantined.
enum class TxResendMode { kReissue, kDrop, kAdopt };

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
  // The TX watch (policy [heartbeat] request_timeout; Linux's netdev
  // watchdog, dev_watchdog, for a NIC): a TX frame the driver was given and
  // has not returned this long means a stuck driver or device although the
  // driver beats (lost TX completion, device hang). RX buffers are not
  // watched: they wait for traffic. 0 = no watch; set_tx_timeout() changes it.
  std::chrono::milliseconds tx_timeout{0};
  // Called once, on the shim's thread, when the watch fires (re-armed by
  // restart()). Empty: on_driver_fault is called instead.
  std::function<void(const std::string& reason)> on_tx_timeout;
  // The RX watch, with the same timeout: the device's RX descriptor head
  // (e1000 RDH, §13.4.30) as the supervisor reads it, trusted, from the
  // device. When it moved — the device filled RX buffers — and the driver
  // returned no RX buffer for tx_timeout since, the driver is stuck on its
  // RX path although it beats (a campaign's inverted branch in
  // E1000RxRing::harvest stalled the echo for good). Reported through
  // on_tx_timeout like the TX watch. Empty: no RX watch (kernel devices).
  std::function<uint32_t()> rx_device_head;
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
  std::atomic<uint32_t> quarantined{0};              // buffers waiting for a device reset (gauge)
  std::atomic<uint64_t> restarts{0};                 // restart() calls
  std::atomic<uint64_t> tx_reissued{0};              // TX frames handed to a successor again
  std::atomic<uint64_t> tx_dropped_on_restart{0};    // TX frames dropped by TxResendMode::kDrop
  std::atomic<uint64_t> rx_reclaimed_on_restart{0};  // RX buffers taken back from a dead driver
  std::atomic<uint64_t> resent_for_adoption{0};      // TX + RX buffers resent to a warm successor
  std::atomic<uint64_t> tx_timeouts{0};              // times the TX or RX watch fired
  // steady_clock ns of the first buffer a driver returned after the latest
  // restart(); 0 until then (downtime = this - time of death).
  std::atomic<int64_t> first_completion_after_restart_ns{0};
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

  // Recovery, called by the supervisor (any thread). hold(): stop handing
  // buffers to the driver (it is dead or about to be killed). restart():
  // blocks until the shim's thread has prepared the rings and buffers for a
  // successor; returns how many TX frames it queued for reissue; the shim
  // serves again at once (the successor finds the work in its rings); with
  // kAdopt, how many buffers it resent flagged for adoption.
  // release_quarantine(): the successor has reset the device; buffers the
  // dead driver's device held may be used again.
  void hold();
  Result<uint32_t> restart(TxResendMode mode);
  void release_quarantine();
  bool held() const { return held_.load(std::memory_order_acquire); }

  // A reloaded policy's request_timeout for the TX watch (0 = off); any thread.
  void set_tx_timeout(std::chrono::milliseconds timeout) {
    tx_timeout_ms_.store(timeout.count(), std::memory_order_relaxed);
  }

 private:
  void run();
  bool harvest_tx_done();
  bool harvest_rx_done();
  bool replenish_rx();
  bool pump_tap();
  bool tx_possible();
  void violation(const std::string& reason);
  void publish_gauges();
  void note_returned();
  bool issue_resend();
  bool issue_rx_adopt();
  uint32_t prepare_restart(TxResendMode mode);
  void run_commands();
  // The TX and RX watches (net_shim_tx_watch.cc), at most every tenth of the timeout.
  void check_tx_timeout();
  // Part of it: the RX watch; returns the reason when it fires, else "".
  std::string check_rx_stall(std::chrono::steady_clock::time_point now,
                             std::chrono::milliseconds timeout);
  void report_stuck(const std::string& reason);
  Status post_command(std::function<void()> command);

  const NetShimOptions options_;
  std::unique_ptr<NetDriverPort> port_;
  NetShimStats stats_;
  NetBufferPool pool_;
  std::vector<uint32_t> tx_len_;  // frame length per buffer, as the shim posted it
  std::vector<uint64_t> tx_seq_;  // per buffer: when its frame was read from the TAP
  std::vector<std::chrono::steady_clock::time_point> tx_given_at_;  // per buffer: last TX post
  std::atomic<int64_t> tx_timeout_ms_{0};
  std::chrono::steady_clock::time_point next_tx_check_{};
  uint64_t next_tx_seq_ = 0;
  // RX watch: the device head last read, since when the device has filled
  // buffers the driver has not returned (none: nothing pending), and the
  // count of RX buffers the driver had returned then.
  uint32_t rx_head_seen_ = 0;
  std::optional<std::chrono::steady_clock::time_point> rx_filled_since_;
  uint64_t rx_returned_at_fill_ = 0;
  uint64_t rx_returned_ = 0;      // RX buffers the driver returned, any status
  bool rx_rebaseline_ = false;    // after restart(): the next head change only re-reads
  std::vector<uint64_t> rx_seq_;  // per buffer: when it was posted for RX
  uint64_t next_rx_seq_ = 0;
  std::deque<uint16_t> tx_resend_;  // frames for the successor, before the TAP's
  bool resend_adopt_ = false;       // tx_resend_ and rx_adopt_ go out flagged kNetFlagAdopt
  std::deque<uint16_t> rx_adopt_;   // RX buffers for a warm successor, before fresh ones
  bool awaiting_first_completion_ = false;
  std::atomic<bool> held_{false};
  std::mutex command_mutex_;
  std::deque<std::function<void()>> commands_;  // guarded by command_mutex_; run on our thread
  bool commands_closed_ = true;  // guarded by command_mutex_; open between start() and stop()
  std::vector<abi::NetDescriptor> reap_batch_;
  bool fault_reported_ = false;
  bool tap_blocked_ = false;
  EventFd wake_;  // stop() and post_command() kick the shim's thread
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
};

}  // namespace uldd::shim
