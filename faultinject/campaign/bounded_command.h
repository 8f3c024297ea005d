// run_bounded: the side workloads (fio, mkfs/e2fsck/losetup, iperf3) run
// external commands whose output they must read and which must neither
// outlive the campaign nor hang it: run one in a process group of its own
// (SpawnedProcess), its stdout and stderr into a log file, wait at most
// `timeout`, end it early when `cancel` turns true (stop() of a workload),
// and hand back its wait status and output.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace uldd::campaign {

struct CommandResult {
  int wait_status = 0;
  bool timed_out = false;  // ended after `timeout`
  bool cancelled = false;  // ended because `cancel` turned true
  std::string output;      // stdout + stderr, at most its last 64 KiB

  bool ok() const;                  // exited 0, neither timed out nor cancelled
  std::string status_text() const;  // "exit status 1", "timed out", "cancelled"
  std::string describe() const;     // status_text() + ": <last output line>"
};

// The path of a program: argv0 itself if it has a '/', else the first of
// /usr/sbin, /sbin, /usr/bin, /bin that has it; "" if none.
std::string program_path(const std::string& name);

// Runs argv (argv[0] found by program_path) with stdin /dev/null; `log` is
// truncated first and keeps the output. An error only if it could not start.
Result<CommandResult> run_bounded(const std::vector<std::string>& argv,
                                  const std::filesystem::path& log,
                                  std::chrono::milliseconds timeout,
                                  const std::atomic<bool>* cancel = nullptr);

}  // namespace uldd::campaign
