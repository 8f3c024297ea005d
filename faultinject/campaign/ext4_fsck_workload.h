// Ext4FsckWorkload: "ext4_fsck" of [workload], beside the disk's verified
// writer: a file system on the disk that must stay consistent through every
// recovery. A loop device over the disk's FUSE file, restricted to a region
// of its own (campaign.h disk_regions: 32 MiB after the writer's blocks and
// fio's region), gets a fresh ext4 (mkfs.ext4 once), mounted on a private
// directory in the campaign's temp dir. Then, round after round, it writes a
// seeded file (64 KiB..1 MiB, one of 8 names, so the file system never
// fills), fsyncs it, drops its cached pages and reads it back: bytes that
// differ, or an I/O error, are a problem. finish() reads every file once more,
// unmounts, and runs `e2fsck -fn`, which must exit 0; then detaches the loop
// device. Everything it set up is torn down on every path (stop(), the
// destructor). Its report section is "ext4_fsck", its invariants
// ext4_problems = 0 and ext4_fsck_clean. Not watched by the fault observer
// (the writer is the disk's primary workload).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faultinject/campaign/repeated_runs.h"
#include "faultinject/campaign/workload.h"
#include "faultinject/campaign/workload_failure.h"

namespace uldd::campaign {

struct Ext4FsckSummary {
  std::string device;
  std::string path;         // the FUSE file
  std::string loop_device;  // "/dev/loop3"
  uint64_t offset = 0, size = 0;
  bool direct_io = false;  // the loop device reads the FUSE file with O_DIRECT
  uint64_t rounds = 0;     // files written, fsynced and read back intact
  uint64_t bytes_written = 0;
  uint64_t final_files_checked = 0;
  uint64_t mismatches = 0;  // files read back with wrong bytes
  uint64_t io_errors = 0;   // write, fsync or read errors
  bool fsck_ran = false;
  bool fsck_clean = false;
  std::vector<WorkloadFailure> failures;  // the first kMaxFailuresKept (and fsck's output)
};
nlohmann::json to_json(const Ext4FsckSummary& s);
std::string describe(const Ext4FsckSummary& s);

class Ext4FsckWorkload final : public Workload {
 public:
  // `work`: the campaign's temp dir (mount point, tool logs).
  Ext4FsckWorkload(std::string device, std::filesystem::path file, uint64_t offset, uint64_t size,
                   std::filesystem::path work, uint64_t seed,
                   std::chrono::steady_clock::time_point t0);
  ~Ext4FsckWorkload() override { stop(); }
  Ext4FsckWorkload(const Ext4FsckWorkload&) = delete;
  Ext4FsckWorkload& operator=(const Ext4FsckWorkload&) = delete;

  const std::string& name() const override { return name_; }
  const std::string& device() const override { return summary_.device; }
  // losetup, mkfs.ext4, mount, then the rounds on a thread; on an error
  // everything set up so far is torn down.
  Status start() override;
  uint64_t progress() const override { return progress_.load(std::memory_order_relaxed); }
  uint64_t in_flight() const override { return 1; }
  // The mismatches new since the last call.
  std::optional<std::vector<DataProblem>> verify(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  // Ends the rounds, reads every file back, unmounts, e2fsck -fn, detaches.
  std::optional<std::vector<DataProblem>> finish(int32_t after_fault,
                                                 std::chrono::milliseconds timeout) override;
  void stop() override;  // ends the rounds and tears down (no fsck)

  DataCounts data_counts() const override { return {}; }
  void add_to_report(CampaignReport& r) const override;
  std::vector<InvariantResult> check_invariants(const Invariants& inv) const override;

  Ext4FsckSummary summary() const;

 private:
  struct FileState {
    uint64_t round = 0;  // the round that wrote it: its bytes' seed
    uint64_t size = 0;
  };
  void write_and_check(uint64_t round);
  // Reads `name` back without its cached pages; "" if it is what `f` wrote.
  std::string check_file(const std::string& name, const FileState& f) const;
  void fail(const std::string& kind, const std::string& message);
  Status run_tool(const std::vector<std::string>& argv, const std::string& log_name,
                  std::string* output = nullptr);
  void teardown();

  std::string name_ = "ext4-fsck";
  std::filesystem::path work_, mount_point_;
  uint64_t seed_;
  std::chrono::steady_clock::time_point t0_;
  bool mounted_ = false;
  bool torn_down_ = false;
  std::map<std::string, FileState> files_;  // the run thread's, read after it ended

  std::atomic<uint64_t> progress_{0};
  mutable std::mutex mu_;  // guards what follows
  uint64_t mismatches_reported_ = 0;
  Ext4FsckSummary summary_;
  RepeatedRuns runs_;  // last: its thread ends before the rest goes
};

}  // namespace uldd::campaign
