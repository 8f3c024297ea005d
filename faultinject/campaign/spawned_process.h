// SpawnedProcess: a child the campaign runner starts (dbus-daemon,
// uldd-supervisor) and must never leave behind. It runs in a process group
// of its own, so that a Ctrl-C at the terminal reaches only the runner
// (which then stops in order: final read-back first, supervisor last), with
// an empty signal mask and default dispositions, stdout and stderr appended
// to a log file. The destructor stops it (SIGTERM, then SIGKILL after the
// grace period) and reaps it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace uldd::campaign {

class SpawnedProcess {
 public:
  static Result<SpawnedProcess> spawn(const std::vector<std::string>& argv,
                                      const std::filesystem::path& log_file);
  SpawnedProcess() = default;
  ~SpawnedProcess() { stop(std::chrono::seconds(10)); }
  SpawnedProcess(SpawnedProcess&& o) noexcept;
  SpawnedProcess& operator=(SpawnedProcess&& o) noexcept;
  SpawnedProcess(const SpawnedProcess&) = delete;
  SpawnedProcess& operator=(const SpawnedProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps it if it has exited; true while it runs.
  bool running();
  // Its wait status once reaped.
  std::optional<int> wait_status() const { return status_; }
  // SIGTERM, wait up to `grace`, then SIGKILL and wait up to `grace` again;
  // reaps. Returns the wait status, nullopt if it could not be reaped yet
  // (still owned: call again).
  std::optional<int> stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exit status N" / "killed by signal N (NAME)".
std::string describe_wait_status(int status);

}  // namespace uldd::campaign
