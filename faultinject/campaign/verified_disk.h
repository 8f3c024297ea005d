// VerifiedDisk: the "verified-writer" disk workload of a campaign. It writes
// blocks of a self-describing pattern (block_pattern.h) at random block
// indices of a file (the FUSE file the supervisor exposes), one write at a
// time, O_DIRECT where the file allows it, remembers the generation of the
// last ACKNOWLEDGED write of every block, and reads everything back on
// request (after every recovery and at the end of a campaign).
//
// Acceptance rule, per block, on read-back:
//   - the content of the last acknowledged write: good;
//   - the content of a write that was issued later but did not complete
//     successfully (it returned an error; "in doubt"): good too, since a
//     device may or may not have applied it — but the error itself is
//     recorded (the product promises a stall, never an error);
//   - zeros or an older generation of the same block: LOST (an
//     acknowledged write is missing);
//   - anything else (bad checksum, foreign lba or run, a generation never
//     issued): CORRUPTED, with the offset of the first byte that differs from
//     the acknowledged content.
// No write is in flight during a read-back: the one thread that owns this
// object does both. A problem is counted once per (block, acknowledged
// generation), however many read-backs see it again.
//
// Not thread-safe; one owner thread (the runner's workload thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "faultinject/campaign/data_problem.h"
#include "faultinject/campaign/fault_schedule.h"

namespace uldd::campaign {

struct IoError {
  uint64_t at_ms = 0;
  std::string op;  // "write" | "read"
  uint64_t lba = 0;
  int error = 0;  // errno, or 0 for a short transfer
  std::string message;
};

class VerifiedDisk {
 public:
  // Opens `path` (O_DIRECT if the file system takes it), for `blocks` blocks
  // of `block_size` bytes at offset 0. `stream` tags this run's blocks.
  static Result<VerifiedDisk> open(const std::filesystem::path& path, uint32_t blocks,
                                   uint32_t block_size, uint64_t stream,
                                   std::chrono::steady_clock::time_point t0);

  // One write of the next generation at a random block. false = it failed
  // (recorded in io_errors()).
  bool write_one();
  // Reads every block back and checks it; returns the problems new to this
  // read-back (also appended to problems()). `after_fault` tags them.
  std::vector<DataProblem> verify_all(int32_t after_fault);

  uint64_t writes_acknowledged() const { return acknowledged_count_; }
  uint64_t verifications() const { return verifications_; }
  bool direct_io() const { return direct_; }
  uint32_t blocks() const { return blocks_; }
  uint32_t block_size() const { return block_size_; }
  const std::vector<DataProblem>& problems() const { return problems_; }
  // The first kMaxIoErrorsKept errors in detail; io_error_count() counts all.
  const std::vector<IoError>& io_errors() const { return io_errors_; }
  uint64_t io_error_count() const { return io_error_count_; }
  static constexpr size_t kMaxIoErrorsKept = 100;
  // Acknowledged writes per 100 ms since t0 (index = t / 100 ms).
  const std::vector<uint32_t>& writes_per_100ms() const { return per_100ms_; }

 private:
  VerifiedDisk(UniqueFd fd, bool direct, uint32_t blocks, uint32_t block_size, uint64_t stream,
               std::chrono::steady_clock::time_point t0);
  uint64_t now_ms() const;
  void record_error(const char* op, uint64_t lba, ssize_t got, size_t want);

  UniqueFd fd_;
  bool direct_ = false;
  uint32_t blocks_ = 0;
  uint32_t block_size_ = 0;
  uint64_t stream_ = 0;
  std::chrono::steady_clock::time_point t0_;
  SplitMix64 rng_;
  struct FreeBuffer {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, FreeBuffer> buffer_;  // aligned, kChunkBlocks blocks
  uint64_t next_generation_ = 1;
  std::vector<uint64_t> acknowledged_;  // per block: generation, 0 = never
  std::vector<uint64_t> in_doubt_;      // per block: failed later write's generation, 0 = none
  std::set<std::pair<uint64_t, uint64_t>> reported_;  // (lba, acknowledged generation)
  uint64_t acknowledged_count_ = 0;
  uint64_t verifications_ = 0;
  std::vector<DataProblem> problems_;
  std::vector<IoError> io_errors_;
  uint64_t io_error_count_ = 0;
  std::vector<uint32_t> per_100ms_;
};

}  // namespace uldd::campaign
