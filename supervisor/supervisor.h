// Supervisor: the long-lived, trusted process. Starts every configured device,
// then runs one event loop that watches signals (signalfd: SIGINT/SIGTERM stop,
// SIGHUP is reserved for policy reload), the pidfds of every child process, and
// a timer for the periodic status line. Stopping takes devices down in reverse
// order of starting.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "common/result.h"
#include "supervisor/config.h"
#include "supervisor/disk_device.h"

namespace uldd::supervisor {

class Supervisor {
 public:
  Supervisor(SupervisorConfig config, std::filesystem::path bin_dir)
      : config_(std::move(config)), bin_dir_(std::move(bin_dir)) {}
  ~Supervisor();

  // Blocks SIGINT/SIGTERM/SIGHUP (they are read from a signalfd) and starts
  // every device. On error, whatever was started is stopped again.
  Status start();
  // Runs until SIGINT/SIGTERM; returns the process exit status.
  int run();
  void stop();

 private:
  SupervisorConfig config_;
  std::filesystem::path bin_dir_;
  std::vector<std::unique_ptr<DiskDevice>> disks_;
  int signal_fd_ = -1;
};

}  // namespace uldd::supervisor
