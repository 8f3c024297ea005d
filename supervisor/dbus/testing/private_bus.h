// PrivateBus: a dbus-daemon of the test's own, so that D-Bus tests never touch
// the host's system bus. The socket lives in a fresh directory opened to every
// user (0755 directory, 0777 socket) so that a test can also call as nobody.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace uldd::dbus::testing {

class PrivateBus {
 public:
  // Starts `dbus-daemon --config-file=<dir>/bus.conf --print-address --nofork`
  // and waits for the address it prints.
  static Result<std::unique_ptr<PrivateBus>> start();
  ~PrivateBus();  // SIGTERM, reap, remove the directory
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;

  // "unix:path=<dir>/bus" — for sd_bus_set_address and busctl --address=.
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

 private:
  PrivateBus(std::string directory, pid_t pid, std::string address)
      : directory_(std::move(directory)), pid_(pid), address_(std::move(address)) {}
  std::string directory_;
  pid_t pid_;
  std::string address_;
};

}  // namespace uldd::dbus::testing
