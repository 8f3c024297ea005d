// FioVerifyWorkload: see fio_verify_workload.h.
#include "faultinject/campaign/fio_verify_workload.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "faultinject/campaign/campaign_report.h"

namespace uldd::campaign {

namespace {

constexpr std::chrono::seconds kRunBound{60};
constexpr std::chrono::milliseconds kPause{200};
constexpr uint32_t kRateIops =
    1500;  // ~3 s per 8 MiB run (write + verify); leaves CPU to the writer

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The lines of fio's output that say what went wrong (at most 4).
std::string fio_complaint(const std::string& out) {
  std::istringstream in(out);
  std::string kept;
  int n = 0;
  for (std::string line; std::getline(in, line) && n < 4;) {
    std::string l = lower(line);
    if (l.find("verify") != std::string::npos || l.find("error") != std::string::npos ||
        l.rfind("fio:", 0) == 0) {
      kept += (kept.empty() ? "" : "\n") + line;
      ++n;
    }
  }
  return kept;
}

bool names_verify_error(const std::string& out) {
  std::string l = lower(out);
  for (const char* what : {"verify failed", "bad magic", "verify: bad", "verify type mismatch",
                           "crc32c: verify", "bad header"})
    if (l.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

nlohmann::json to_json(const FioVerifySummary& s) {
  return {{"device", s.device},
          {"path", s.path},
          {"offset", s.offset},
          {"size", s.size},
          {"direct_io", s.direct_io},
          {"runs", s.runs},
          {"runs_passed", s.runs_passed},
          {"runs_failed", s.runs_failed},
          {"verify_errors", s.verify_errors},
          {"bytes_verified", s.bytes_verified},
          {"failures", failures_json(s.failures)}};
}

std::string describe(const FioVerifySummary& s) {
  std::string out = fmt::format(
      "{} fio-verify: {} runs over {} MiB at offset {} MiB ({}), {} passed, {} failed ({} verify "
      "errors)\n",
      s.device, s.runs, s.size >> 20, s.offset >> 20, s.direct_io ? "direct" : "buffered",
      s.runs_passed, s.runs_failed, s.verify_errors);
  for (const WorkloadFailure& f : s.failures)
    out += fmt::format("  FIO {} at {} ms: {}\n", f.kind, f.at_ms, indented(f.message));
  return out;
}

FioVerifyWorkload::FioVerifyWorkload(std::string device, std::filesystem::path file,
                                     uint64_t offset, uint64_t size, std::filesystem::path logs,
                                     std::chrono::steady_clock::time_point t0)
    : logs_(std::move(logs)), t0_(t0) {
  summary_.device = std::move(device);
  summary_.path = file.string();
  summary_.offset = offset;
  summary_.size = size;
}

Status FioVerifyWorkload::start() {
  if (program_path("fio").empty())
    return plain_error("fio_verify needs fio (scripts/bootstrap.sh installs it)");
  int fd = ::open(summary_.path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  summary_.direct_io = fd >= 0;
  if (fd >= 0) ::close(fd);
  runs_.start([this] { return one_run(); });
  return {};
}

std::vector<std::string> FioVerifyWorkload::command() const {
  std::vector<std::string> argv = {"fio",
                                   "--name=campaign-fio",
                                   "--filename=" + summary_.path,
                                   "--offset=" + std::to_string(summary_.offset),
                                   "--size=" + std::to_string(summary_.size),
                                   "--bs=4k",
                                   "--rw=randwrite",
                                   "--randrepeat=0",
                                   "--verify=crc32c",
                                   "--do_verify=1",
                                   "--verify_fatal=1",
                                   "--verify_state_save=0",
                                   "--verify_dump=0",
                                   "--rate_iops=" + std::to_string(kRateIops),
                                   "--output-format=normal"};
  if (summary_.direct_io) {
    argv.insert(argv.end(), {"--direct=1", "--ioengine=libaio", "--iodepth=8"});
  } else {
    argv.insert(argv.end(), {"--direct=0", "--ioengine=psync", "--end_fsync=1"});
  }
  return argv;
}

void FioVerifyWorkload::record(const CommandResult& r) {
  std::lock_guard lock(mu_);
  ++summary_.runs;
  if (r.ok()) {
    ++summary_.runs_passed;
    summary_.bytes_verified += summary_.size;
    progress_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  ++summary_.runs_failed;
  WorkloadFailure f;
  f.at_ms = ms_since(t0_);
  if (names_verify_error(r.output)) {
    ++summary_.verify_errors;
    f.kind = "verify";
  } else {
    f.kind = r.timed_out ? "timeout" : "error";
  }
  std::string said = fio_complaint(r.output);
  f.message = said.empty() ? r.describe() : r.status_text() + "\n" + said;
  if (summary_.failures.size() < kMaxFailuresKept) summary_.failures.push_back(std::move(f));
}

std::optional<std::chrono::milliseconds> FioVerifyWorkload::one_run() {
  auto r = run_bounded(command(), logs_ / ("fio-" + summary_.device + ".log"), kRunBound,
                       runs_.cancel_flag());
  if (!r) {
    CommandResult failed;
    failed.wait_status = 127 << 8;
    failed.output = r.error().describe();
    record(failed);
    return std::nullopt;
  }
  if (r->cancelled) return std::nullopt;  // stop(): cut short, not a run
  record(*r);
  return kPause;
}

std::optional<std::vector<DataProblem>> FioVerifyWorkload::verify(int32_t after_fault,
                                                                  std::chrono::milliseconds) {
  std::lock_guard lock(mu_);
  return corruptions_since(&verify_errors_reported_, summary_.verify_errors, after_fault);
}

std::optional<std::vector<DataProblem>> FioVerifyWorkload::finish(
    int32_t after_fault, std::chrono::milliseconds timeout) {
  if (!runs_.finish(timeout)) return std::nullopt;
  return verify(after_fault, timeout);
}

void FioVerifyWorkload::stop() {
  runs_.cancel();
}

FioVerifySummary FioVerifyWorkload::summary() const {
  std::lock_guard lock(mu_);
  return summary_;
}

void FioVerifyWorkload::add_to_report(CampaignReport& r) const {
  r.fio_verify = summary();
}

std::vector<InvariantResult> FioVerifyWorkload::check_invariants(const Invariants&) const {
  FioVerifySummary s = summary();
  return {
      {s.device + ".fio_runs_failed", "<= 0", std::to_string(s.runs_failed), s.runs_failed == 0},
      {s.device + ".fio_runs_passed", ">= 1", std::to_string(s.runs_passed), s.runs_passed >= 1}};
}

}  // namespace uldd::campaign
