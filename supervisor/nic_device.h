// NicDevice: one configured NIC, put together: its shared memory, its TAP
// frontend, its e1000 device model process (uldd-hw e1000, whose wire is a
// TAP, optionally in a peer netns), its driver (a process, or in-process when
// colocated) and its NetShim. Starting brings them up in dependency order and
// stopping takes them down in reverse.
//
// Until the restart engine takes over, a dead driver or model, or a driver
// fault the shim reports, fails the device: the shim stops (the TAP is no
// longer read, so the kernel queues and then drops), the TAP loses carrier,
// and the status line says FAILED. The buffer pool keeps, per buffer, who
// held it at that moment (NetShim::buffer_pool()), which is what a restart
// needs to reissue or drop TX frames and repost RX buffers.
//
// Besides the status line, every status tick writes `<runtime_dir>/<name>.stats`
// (key=value lines, replaced atomically): the device's counters as the
// control plane sees them, readable without talking to the supervisor.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "supervisor/child_process.h"
#include "supervisor/config.h"
#include "supervisor/nic_resources.h"

namespace uldd::uio {
class EmulatedUio;
}
namespace uldd::drivers {
class E1000Driver;
}
namespace uldd::shim {
class NetShim;
class TapFrontend;
}  // namespace uldd::shim

namespace uldd::supervisor {

class NicDevice {
 public:
  // `bin_dir` holds uldd-hw and uldd-e1000-driver.
  static Result<std::unique_ptr<NicDevice>> start(const NicDeviceConfig& cfg,
                                                  const SupervisorConfig& sup,
                                                  const std::filesystem::path& bin_dir);
  ~NicDevice();

  // Stops the shim, driver and model, then closes the TAP (which removes it).
  void stop();

  const std::string& name() const { return cfg_.name; }
  shim::NetShim& shim() { return *shim_; }
  // -1 when the process does not exist (colocated driver, stopped device).
  pid_t driver_pid() const { return driver_.running() ? driver_.pid() : -1; }
  pid_t model_pid() const { return model_.running() ? model_.pid() : -1; }

  // Child processes the supervisor's loop watches (pidfds).
  std::vector<int> pidfds() const;
  // Called when one of pidfds() became readable; returns false if the device
  // can no longer serve.
  bool on_child_exit(int pidfd);

  // One line for the log; also rewrites the stats file.
  std::string status_line(std::chrono::steady_clock::duration since_last);

 private:
  explicit NicDevice(NicDeviceConfig cfg, std::filesystem::path stats_path);
  Status start_model(const std::filesystem::path& bin_dir);
  Status start_isolated_driver(const std::filesystem::path& bin_dir, const std::string& user);
  Status start_colocated_driver();
  Status wait_driver_running(std::chrono::milliseconds timeout);
  void fail(const std::string& why);
  void write_stats_file();

  NicDeviceConfig cfg_;
  std::filesystem::path stats_path_;
  NicResources res_;
  std::unique_ptr<shim::TapFrontend> tap_;
  ChildProcess model_;
  ChildProcess driver_;
  std::unique_ptr<uio::EmulatedUio> colocated_uio_;
  std::unique_ptr<drivers::E1000Driver> colocated_driver_;
  std::unique_ptr<shim::NetShim> shim_;
  bool failed_ = false;
  bool stopped_ = false;
  uint64_t stats_sequence_ = 0;
  uint64_t last_tx_bytes_ = 0;
  uint64_t last_rx_bytes_ = 0;
};

}  // namespace uldd::supervisor
