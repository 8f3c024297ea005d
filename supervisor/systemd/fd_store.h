// FdStore: hands file descriptors that must outlive the supervisor process to
// the service manager's file descriptor store (sd_pid_notify_with_fds(3):
// "FDSTORE=1" + "FDNAME=<name>" with the fds as SCM_RIGHTS), and takes them
// back out ("FDSTOREREMOVE=1" + "FDNAME=<name>") on a clean stop so that a
// clean restart starts fresh. A supervisor restarted after a crash finds them
// again in LISTEN_FDS/LISTEN_FDNAMES (fd_inventory.h) and adopts its devices
// from them instead of creating new ones (docs/fd-store.md).
//
// An interface so that the supervisor calls it unconditionally: without
// NOTIFY_SOCKET there is no store and from_environment() gives one that does
// nothing; tests pass their own socket (NOTIFY_SOCKET) or a fake.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace uldd::supervisor::systemd {

// systemd's rule for FDNAME= (fdname_is_valid): 1..255 printable ASCII
// characters, no ':' (LISTEN_FDNAMES is ':'-separated).
bool fd_name_valid(std::string_view name);

class FdStore {
 public:
  virtual ~FdStore() = default;

  // The service manager's store if NOTIFY_SOCKET is set, else one that does
  // nothing. NOTIFY_SOCKET stays in the environment (ServiceNotifier uses it).
  static std::unique_ptr<FdStore> from_environment();
  static std::unique_ptr<FdStore> null();

  virtual bool active() const = 0;
  // One message: FDSTORE=1, FDNAME=name, `fds` attached (the manager gets its
  // own copies; ours stay open). EINVAL for an invalid name.
  virtual Status store(std::string_view name, std::span<const int> fds) = 0;
  // FDSTOREREMOVE=1, FDNAME=name: the manager closes every fd of that name.
  virtual Status remove(std::string_view name) = 0;
};

// The fds one device keeps in the store, by name ("disk0.dma" -> fd): what it
// published, so that a clean stop can withdraw exactly those.
class FdStoreEntries {
 public:
  void add(std::string name, int fd) { entries_.emplace_back(std::move(name), fd); }
  const std::vector<std::pair<std::string, int>>& entries() const { return entries_; }
  // Stores every entry (one message each); stops at the first failure.
  Status publish(FdStore& store);
  // Removes every entry published (errors are logged, not returned: a clean
  // stop goes on).
  void withdraw(FdStore& store);
  // The entries are in the store already (adopted from it after a restart).
  void mark_published() { published_ = true; }

 private:
  std::vector<std::pair<std::string, int>> entries_;
  bool published_ = false;
};

}  // namespace uldd::supervisor::systemd
