// WorkloadThread: the disk's Workload (workload.h), "verified-writer": runs
// a VerifiedDisk on a thread of its own — writes one
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
#include "faultinject/campaign/workload.h"

namespace uldd::campaign {

class WorkloadThread final : public Workload {
 public:
  // `device` is the campaign device whose FUSE file `disk` writes; `path`
  // that file (for the report).
  WorkloadThread(VerifiedDisk disk, std::string device, std::string path);
  ~WorkloadThread() override { stop(); }
  WorkloadThread(const WorkloadThread&) = delete;
  WorkloadThread& operator=(const WorkloadThread&) = delete;

  const std::string& name() const override { return name_; }
  const std::string& device() const override { return device_; }
  Status start() override;
  // Pauses writing, reads everything back, resumes. nullopt: the read-back
  // did not finish within `timeout` (I/O stuck); it still runs then.
  std::optional<std::vector<DataProblem>> verify(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  // The final read-back: like verify(), but the thread ends after it
  // (no write follows it). Call stop() afterwards to join.
  std::optional<std::vector<DataProblem>> finish(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  // Stops writing and joins (after the supervisor stopped, a stuck write
  // fails and the thread ends). Safe to call twice.
  void stop() override;

  // Acknowledged writes plus finished read-backs so far: the runner watches
  // it to tell a device that serves from one whose I/O is stuck.
  uint64_t progress() const override { return progress_.load(std::memory_order_relaxed); }

  uint64_t in_flight() const override { return 1; }  // one write at a time
  DataCounts data_counts() const override;
  void add_to_report(CampaignReport& r) const override;
  // The disk's invariants are evaluate_invariants' (fault_outcome.h).
  std::vector<InvariantResult> check_invariants(const Invariants&) const override { return {}; }

  // Read after stop() (or under no concurrent writes).
  const VerifiedDisk& disk() const { return disk_; }

 private:
  void run();

  VerifiedDisk disk_;
  std::string name_ = "verified-writer";
  std::string device_;
  std::string path_;
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
