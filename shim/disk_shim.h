// DiskShim: the trusted, kernel-facing half of a disk device. Frontends (FUSE,
// NBD, benchmarks) call it through BlockClient; it splits requests into
// transfers, copies write data into DMA buffers it owns (the one copy on the
// way to the device), hands descriptors to the driver through a DriverPort,
// validates every completion against its in-flight table and completes each
// frontend request exactly once.
//
// Threads: callers of BlockClient enqueue under a mutex; everything else (the
// in-flight table, the buffers, the port) belongs to the shim's one thread.
// Back-pressure: at most `queue_limit` requests are accepted at once; further
// callers block until one completes.
//
// Recovery (architecture, "Recovery protocol"): when the driver dies the
// supervisor calls hold(); the shim keeps accepting requests but hands
// nothing more to the driver. Before the successor starts, restart() — run on
// the shim's thread — takes every completion the dead driver still posted,
// empties the rings, and queues every request the driver had and did not
// complete for resending, in original issue order, ahead of anything new:
// flagged kBlockFlagAdopt for a warm successor, plain for a cold one (which
// resets the device), or failed with an I/O error if policy says so. Each tag
// still completes at most once: the in-flight table is never cleared, only
// re-sent.
//
// Errors (docs/recovery.md, "Errors a driver reports"): a part the driver
// completes with an error is sent again — same slot and buffer, a new tag —
// up to ErrorRetry::retries times (after `delay`, to the same driver, or to
// its successor if it dies meanwhile) before the error reaches the frontend,
// as Linux's block layer retries NVMe errors (nvme_max_retries = 5). A faulty
// driver's error is then a stall, not an EIO.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/event_fd.h"
#include "shim/block_client.h"
#include "shim/driver_port.h"
#include "shim/inflight_table.h"

namespace uldd::shim {

// The retry policy for error completions (policy [errors]).
struct ErrorRetry {
  uint32_t retries = 5;  // resends of a failed part before its error goes up; 0 = none
  std::chrono::milliseconds delay{0};  // wait before each resend
  // Also resend errors the device calls permanent (kBlockFlagDoNotRetry,
  // kMediaError). They come through the untrusted driver, which may have
  // built the bad command itself; false = Linux: pass them up at once.
  bool retry_permanent = true;
};

struct DiskShimOptions {
  std::string device_name;
  uint64_t size_bytes = 0;
  uint32_t max_transfer = 0;         // bytes per descriptor; each DMA buffer is this big
  std::byte* buffer_area = nullptr;  // the shim's mapping of the DMA buffer area
  uint64_t buffer_area_iova = 0;     // IOVA of buffer_area[0]
  uint32_t buffer_count = 0;         // DMA buffers = in-flight slots (<= 65536)
  uint32_t queue_limit = 1024;       // frontend requests accepted before callers block
  // Called once, on the shim's thread, the first time the driver breaks the
  // protocol (impossible ring index, or a completion that matches nothing in
  // flight): a driver fault for the supervisor to act on. May be empty.
  std::function<void(const std::string& reason)> on_driver_fault;
  // The request-timeout watch (policy [heartbeat] request_timeout): a
  // descriptor the driver was given and has not completed this long means a
  // stuck driver or device although the driver beats (lost completion,
  // device hang). 0 = no watch. Changeable with set_request_timeout().
  std::chrono::milliseconds request_timeout{0};
  // Called once, on the shim's thread, when the watch fires (as
  // on_driver_fault; re-armed by restart()). May be empty.
  std::function<void(const std::string& reason)> on_request_timeout;
  // Error completions (policy [errors]); changeable with set_error_retry().
  ErrorRetry error_retry;
};

// Counters, readable from any thread while the shim runs.
// How the shim resumes after its driver died (DiskShim::restart()).
enum class ResendMode {
  kAdopt,    // warm successor: resend every outstanding request flagged kBlockFlagAdopt
  kReissue,  // cold successor (device reset): resend them plain, in original order
  kFail,     // cold successor, policy "in-flight = fail": complete them with kIoError
};

struct DiskShimStats {
  std::atomic<uint64_t> reads{0}, writes{0}, flushes{0};
  std::atomic<uint64_t> read_bytes{0}, write_bytes{0};
  std::atomic<uint64_t> descriptors{0};  // descriptors handed to the driver
  // Requests completed with an error, whatever the path (refused by
  // enqueue, failed by the device, failed on restart or stop); each is also
  // logged with its reason (DiskShim::note_error).
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> protocol_violations{0};  // completions that matched nothing we sent
  std::atomic<uint64_t> request_timeouts{0};     // times the request-timeout watch fired
  std::atomic<uint64_t> error_retries{0};        // parts sent again after an error completion
  std::atomic<uint64_t> error_restarts{0};       // driver restarts after a part failed every retry
  std::atomic<uint32_t> requests_open{0};        // accepted, not yet completed
  std::atomic<uint32_t> descriptors_in_flight{0};
  std::atomic<uint64_t> restarts{0};           // restart() calls
  std::atomic<uint64_t> resent{0};             // descriptors re-sent to a successor
  std::atomic<uint64_t> failed_on_restart{0};  // requests failed by ResendMode::kFail
  std::atomic<uint32_t> quarantined{0};  // buffer slots of failed requests awaiting a device reset
  // steady_clock nanoseconds of the first completion after the latest
  // restart(); 0 until it happens (downtime = this - time of death).
  std::atomic<int64_t> first_completion_after_restart_ns{0};
};

struct Request {
  abi::BlockOp op = abi::BlockOp::kRead;
  uint64_t offset = 0;
  uint64_t len = 0;
  std::byte* data = nullptr;  // read: destination; write: source (not written)
  BlockDone done;
  uint64_t issued = 0;  // bytes handed to the driver so far
  bool fully_issued = false;
  uint32_t parts_outstanding = 0;
  abi::BlockStatus status = abi::BlockStatus::kOk;
  const char* error_reason = nullptr;  // why `status` is not kOk (static string), for the log
};

class DiskShim final : public BlockClient {
 public:
  DiskShim(DiskShimOptions options, std::unique_ptr<DriverPort> port);
  ~DiskShim() override;

  Status start();
  // Waits (up to `timeout`) until nothing is queued or in flight.
  bool drain(std::chrono::milliseconds timeout);
  // Stops the thread; requests still open complete with kDeviceFailed.
  void stop();

  uint64_t size_bytes() const override { return options_.size_bytes; }
  void read(uint64_t offset, std::span<std::byte> dest, BlockDone done) override;
  void write(uint64_t offset, std::span<const std::byte> data, BlockDone done) override;
  void flush(BlockDone done) override;

  // Recovery, called by the supervisor (any thread). hold(): stop handing
  // descriptors to the driver (it is dead or about to be killed). restart():
  // blocks until the shim's thread has prepared the rings for a successor as
  // `mode` says; returns how many descriptors it queued for resending
  // (DriverLaunch::adopt_count for kAdopt), after which the shim serves again.
  void hold();
  Result<uint32_t> restart(ResendMode mode);
  // ResendMode::kFail completes the requests at once but keeps their buffer
  // slots out of use: the old device may still DMA a late read into them.
  // The supervisor calls this once a cold successor runs (it reset the
  // controller, which aborts every command): the slots are used again.
  void release_quarantine();
  // A reloaded policy's request_timeout (0 = no watch); any thread.
  void set_request_timeout(std::chrono::milliseconds timeout) {
    request_timeout_ms_.store(timeout.count(), std::memory_order_relaxed);
  }
  // A reloaded policy's [errors] section; any thread. Parts already waiting
  // for a retry keep their due time.
  void set_error_retry(const ErrorRetry& retry) {
    retry_max_.store(retry.retries, std::memory_order_relaxed);
    retry_delay_ms_.store(retry.delay.count(), std::memory_order_relaxed);
    retry_permanent_.store(retry.retry_permanent, std::memory_order_relaxed);
  }
  bool held() const { return held_.load(std::memory_order_acquire); }

  const DiskShimStats& stats() const { return stats_; }
  const std::string& name() const { return options_.device_name; }

 private:
  void enqueue(std::unique_ptr<Request> request);
  void run();
  bool take_incoming();
  bool issue();
  bool harvest();
  void complete(Request* request);
  // Completes a request that never reached the in-flight table with `status`.
  void refuse(std::unique_ptr<Request> request, abi::BlockStatus status, const char* reason);
  // Counts and logs one request completed with an error (see stats().errors).
  void note_error(const Request& request, abi::BlockStatus status, const char* reason);
  void fail_all_open();
  void report_driver_fault(const std::string& reason);
  // The request-timeout watch, at most every few ms of the shim's loop.
  void check_request_timeouts();
  // Error completions (disk_shim_retry.cc). retry_after_error(): queues the
  // part for resending if the policy allows, else says why not in `why`.
  bool retry_after_error(InFlightEntry& e, const abi::BlockDescriptor& c, const char** why);
  // Stages parts whose retry is due, from staging index n; returns the new n.
  uint32_t issue_retries(uint32_t n, uint32_t space);
  // How long the idle loop may sleep before a retry is due (ms, <= cap).
  int retry_sleep_ms(int cap) const;
  uint32_t prepare_restart(ResendMode mode);
  void run_commands();
  std::byte* buffer(uint32_t slot) const {
    return options_.buffer_area + uint64_t{slot} * options_.max_transfer;
  }

  const DiskShimOptions options_;
  std::unique_ptr<DriverPort> port_;
  DiskShimStats stats_;

  // Shared with frontends, under mutex_.
  std::mutex mutex_;
  std::condition_variable space_cv_;
  std::deque<Request*> incoming_;
  uint32_t accepted_ = 0;  // requests accepted and not completed
  bool sleeping_ = false;
  bool stopping_ = false;
  EventFd incoming_wake_;
  std::deque<std::function<void()>> commands_;  // run on the shim's thread (restart())

  // The shim thread's own.
  std::deque<Request*> pending_;            // accepted, not fully issued, in arrival order
  std::deque<uint32_t> resend_;             // tags to hand to a successor driver before pending_
  uint32_t resend_flags_ = 0;               // kBlockFlagAdopt while resending to a warm successor
  std::vector<uint32_t> quarantined_tags_;  // failed by kFail, slots not yet reusable
  struct RetryItem {
    uint32_t tag;  // the part's renewed tag
    std::chrono::steady_clock::time_point due;
  };
  std::deque<RetryItem> retry_;  // error completions to send again, in due order
  bool awaiting_first_completion_ = false;
  InFlightTable table_;
  std::vector<abi::BlockDescriptor> reap_batch_;
  uint64_t issue_seq_ = 0;
  bool fault_reported_ = false;
  // A part whose retries ran out may restart the driver (disk_shim_retry.cc)
  // once per success seen: a device that fails everything costs one restart.
  bool error_restart_armed_ = true;
  std::chrono::steady_clock::time_point last_error_restart_{};
  static constexpr std::chrono::seconds kErrorRestartSpacing{10};
  std::atomic<int64_t> request_timeout_ms_{0};
  std::atomic<uint32_t> retry_max_{0};
  std::atomic<int64_t> retry_delay_ms_{0};
  std::atomic<bool> retry_permanent_{true};
  std::chrono::steady_clock::time_point next_timeout_check_{};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> held_{false};
  std::thread thread_;
};

}  // namespace uldd::shim
