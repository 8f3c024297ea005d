// FdInventory: the named fds a restarted supervisor inherited from the
// service manager's fd store (LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, read with
// sd_listen_fds_with_names(3), which also unsets those variables so that no
// child sees them). Devices take their fds out by name ("disk0.dma"); what
// nobody took is closed by the owner and removed from the store.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd::supervisor::systemd {

class FdInventory {
 public:
  // Empty when the supervisor was not started with fds (no LISTEN_FDS, or
  // LISTEN_PID names another process). Fds with a name given twice: the
  // first is kept, the other closed. Every fd gets FD_CLOEXEC.
  static Result<FdInventory> from_environment();
  // For tests: fds by name.
  static FdInventory from_fds(std::vector<std::pair<std::string, UniqueFd>> fds);

  bool empty() const { return fds_.empty(); }
  size_t size() const { return fds_.size(); }
  bool has(std::string_view name) const { return fds_.find(std::string(name)) != fds_.end(); }
  // True when any fd's name starts with "<device>.".
  bool has_device(std::string_view device) const;
  // Takes the fd out of the inventory; nullopt when it is not there.
  std::optional<UniqueFd> take(std::string_view name);
  // Names of the fds still in the inventory.
  std::vector<std::string> names() const;
  // Takes and closes every fd of "<device>." (a device that starts fresh);
  // returns their names.
  std::vector<std::string> drop_device(std::string_view device);

 private:
  std::map<std::string, UniqueFd> fds_;
};

class FdStore;
// Closes every fd nobody took (a device no longer configured, a name from
// another version) and removes it from the store; logs each.
void release_unclaimed(FdInventory& inventory, FdStore& store);

}  // namespace uldd::supervisor::systemd
