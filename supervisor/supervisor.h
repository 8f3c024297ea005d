// Supervisor: the long-lived, trusted process. Starts every configured device,
// then runs one event loop that watches signals (signalfd: SIGINT/SIGTERM stop,
// SIGHUP reloads the restart policies, all or nothing), the fds of every
// device (child pidfds, fault kicks), and the devices' deadlines (heartbeat
// checks, scheduled restarts) and the periodic status line. A device whose
// policy says "stop-supervisor" when exhausted ends run() with its status. Stopping takes devices down in reverse
// order of starting.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "common/result.h"
#include "supervisor/config.h"
#include "policies/policy_store.h"
#include "supervisor/disk_device.h"
#include "supervisor/nic_device.h"

namespace uldd::supervisor {

class Supervisor {
 public:
  Supervisor(SupervisorConfig config, std::filesystem::path bin_dir)
      : config_(std::move(config)), bin_dir_(std::move(bin_dir)) {}
  ~Supervisor();

  // Blocks SIGINT/SIGTERM/SIGHUP (they are read from a signalfd) and starts
  // every device. On error, whatever was started is stopped again.
  Status start();
  // Runs until SIGINT/SIGTERM (returns 0) or a policy's stop-supervisor
  // (returns its exit status).
  int run();
  void stop();

 private:
  SupervisorConfig config_;
  std::filesystem::path bin_dir_;
  void reload_policies();

  std::unique_ptr<policies::PolicyStore> policies_;
  std::vector<std::unique_ptr<DiskDevice>> disks_;
  std::vector<std::unique_ptr<NicDevice>> nics_;  // started after the disks, stopped before them
  int signal_fd_ = -1;
};

}  // namespace uldd::supervisor
