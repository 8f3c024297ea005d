// FioVerifyWorkload: "fio_verify" of [workload], beside the disk's verified
// writer: fio, run again and again on the disk's FUSE file, restricted to a
// region of its own (campaign.h disk_regions: 8 MiB after the writer's
// blocks). Each run writes the whole region in random 4 KiB blocks with
// crc32c verify headers (direct I/O if the FUSE file allows it, else
// buffered with end_fsync), then reads it back and checks every block
// (verify_fatal). A run is one operation: progress() counts the runs that
// passed. A run that exits nonzero — a verify error (data that is not what
// fio wrote), an I/O error, a run that did not end within 60 s — is a
// failure, kept with fio's words for the report ("fio_verify") and checked
// by its invariants fio_runs_failed = 0 and fio_runs_passed >= 1. The runner's fault observer does
// not watch it (the writer is the disk's primary workload); a failure is not pinned on a fault.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faultinject/campaign/bounded_command.h"
#include "faultinject/campaign/repeated_runs.h"
#include "faultinject/campaign/workload.h"
#include "faultinject/campaign/workload_failure.h"

namespace uldd::campaign {

struct FioVerifySummary {
  std::string device;
  std::string path;  // the FUSE file
  uint64_t offset = 0, size = 0;
  bool direct_io = false;
  uint64_t runs = 0;  // finished (passed + failed; a run cut short by stop() is not one)
  uint64_t runs_passed = 0;
  uint64_t runs_failed = 0;
  uint64_t verify_errors = 0;  // failed runs whose output names a verify error
  uint64_t bytes_verified = 0;
  std::vector<WorkloadFailure> failures;  // the first kMaxFailuresKept
};
nlohmann::json to_json(const FioVerifySummary& s);
std::string describe(const FioVerifySummary& s);  // one line for the table

class FioVerifyWorkload final : public Workload {
 public:
  // `logs`: a directory for fio's output (the campaign's temp dir).
  FioVerifyWorkload(std::string device, std::filesystem::path file, uint64_t offset, uint64_t size,
                    std::filesystem::path logs, std::chrono::steady_clock::time_point t0);
  ~FioVerifyWorkload() override { stop(); }
  FioVerifyWorkload(const FioVerifyWorkload&) = delete;
  FioVerifyWorkload& operator=(const FioVerifyWorkload&) = delete;

  const std::string& name() const override { return name_; }
  const std::string& device() const override { return summary_.device; }
  Status start() override;  // fails if fio is not installed
  uint64_t progress() const override { return progress_.load(std::memory_order_relaxed); }
  uint64_t in_flight() const override { return 1; }
  // The verify errors new since the last call (fio checks as it goes).
  std::optional<std::vector<DataProblem>> verify(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  // Lets the current run end (bounded by `timeout`), starts no other.
  std::optional<std::vector<DataProblem>> finish(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  void stop() override;  // ends a running fio (not counted) and joins

  DataCounts data_counts() const override { return {}; }
  void add_to_report(CampaignReport& r) const override;
  std::vector<InvariantResult> check_invariants(const Invariants& inv) const override;

  FioVerifySummary summary() const;

 private:
  std::optional<std::chrono::milliseconds> one_run();  // RepeatedRuns::OneRun
  std::vector<std::string> command() const;
  void record(const CommandResult& r);

  std::string name_ = "fio-verify";
  std::filesystem::path logs_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<uint64_t> progress_{0};
  mutable std::mutex mu_;  // guards what follows
  uint64_t verify_errors_reported_ = 0;
  FioVerifySummary summary_;
  RepeatedRuns runs_;  // last: its thread ends before the rest goes
};

}  // namespace uldd::campaign
