// WorkloadThread: see workload_thread.h.
#include "faultinject/campaign/workload_thread.h"

#include "faultinject/campaign/campaign_report.h"

namespace uldd::campaign {

WorkloadThread::WorkloadThread(VerifiedDisk disk, std::string device, std::string path)
    : disk_(std::move(disk)), device_(std::move(device)), path_(std::move(path)) {}

Status WorkloadThread::start() {
  thread_ = std::thread([this] { run(); });
  return {};
}

DataCounts WorkloadThread::data_counts() const {
  DataCounts d;
  for (const DataProblem& p : disk_.problems())
    (p.kind == DataProblem::Kind::kLost ? d.lost_writes : d.corrupted_blocks)++;
  d.io_errors = disk_.io_error_count();
  d.writes_acknowledged = disk_.writes_acknowledged();
  return d;
}

void WorkloadThread::add_to_report(CampaignReport& r) const {
  WorkloadSummary& w = r.workload;
  w.name = name_;
  w.path = path_;
  w.blocks = disk_.blocks();
  w.block_size = disk_.block_size();
  w.direct_io = disk_.direct_io();
  w.writes_acknowledged = disk_.writes_acknowledged();
  w.verifications = disk_.verifications();
  w.problems = disk_.problems();
  w.io_errors = disk_.io_errors();
  w.io_error_count = disk_.io_error_count();
  w.writes_per_100ms = disk_.writes_per_100ms();
}

void WorkloadThread::run() {
  for (;;) {
    bool verify = false;
    int32_t after = -1;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      verify = verify_requested_;
      after = verify_after_fault_;
    }
    if (verify) {
      std::vector<DataProblem> fresh = disk_.verify_all(after);
      progress_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(mu_);
      verify_result_ = std::move(fresh);
      verify_requested_ = false;
      ++verify_done_count_;
      cv_.notify_all();
      if (stop_after_verify_) return;
      continue;
    }
    bool ok = disk_.write_one();
    if (ok) progress_.fetch_add(1, std::memory_order_relaxed);
    // A file that fails at once (supervisor gone) must not spin.
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<std::vector<DataProblem>> WorkloadThread::verify(int32_t after_fault,
                                                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) {
    lock.unlock();
    return disk_.verify_all(after_fault);  // not running: no concurrent writer
  }
  uint64_t target = verify_done_count_ + 1;
  verify_requested_ = true;
  verify_after_fault_ = after_fault;
  if (!cv_.wait_for(lock, timeout, [&] { return verify_done_count_ >= target; }))
    return std::nullopt;
  return std::move(verify_result_);
}

std::optional<std::vector<DataProblem>> WorkloadThread::finish(int32_t after_fault,
                                                               std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    stop_after_verify_ = true;
  }
  return verify(after_fault, timeout);
}

void WorkloadThread::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace uldd::campaign
