// WorkloadThread: runs a VerifiedDisk on a thread of its own — writes one
// block after another until stopped — and performs a full read-back when
// the runner asks (after a recovery, at the end), between two writes, so
// that no write of the workload is in flight while it reads. A write that
// stalls (the device recovering) simply holds the thread; the runner's
// verify() then waits for it, bounded.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "faultinject/campaign/verified_disk.h"

namespace uldd::campaign {

class WorkloadThread {
 public:
  explicit WorkloadThread(VerifiedDisk disk);
  ~WorkloadThread() { stop(); }
  WorkloadThread(const WorkloadThread&) = delete;
  WorkloadThread& operator=(const WorkloadThread&) = delete;

  void start();
  // Pauses writing, reads everything back, resumes. nullopt: the read-back
  // did not finish within `timeout` (I/O stuck); it still runs then.
  std::optional<std::vector<DataProblem>> verify(int32_t after_fault,
                                                 std::chrono::milliseconds timeout);
  // The final read-back: like verify(), but the thread ends after it
  // (no write follows it). Call stop() afterwards to join.
  std::optional<std::vector<DataProblem>> finish(int32_t after_fault,
                                                 std::chrono::milliseconds timeout);
  // Stops writing and joins (after the supervisor stopped, a stuck write
  // fails and the thread ends). Safe to call twice.
  void stop();

  // Acknowledged writes plus finished read-backs so far: the runner watches
  // it to tell a device that serves from one whose I/O is stuck.
  uint64_t progress() const { return progress_.load(std::memory_order_relaxed); }

  // Read after stop() (or under no concurrent writes).
  const VerifiedDisk& disk() const { return disk_; }

 private:
  void run();

  VerifiedDisk disk_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> progress_{0};
  bool stopping_ = false;
  bool verify_requested_ = false;
  bool stop_after_verify_ = false;
  int32_t verify_after_fault_ = -1;
  uint64_t verify_done_count_ = 0;
  std::vector<DataProblem> verify_result_;
};

}  // namespace uldd::campaign
