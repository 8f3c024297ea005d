#include "supervisor/systemd/fd_inventory.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "supervisor/systemd/fd_store.h"

namespace uldd::supervisor::systemd {

Result<FdInventory> FdInventory::from_environment() {
  char** names = nullptr;
  // unset_environment = 1: drivers and models spawned later must not think
  // the fds are theirs.
  int n = sd_listen_fds_with_names(1, &names);
  if (n < 0) return Error{-n, "sd_listen_fds_with_names"};
  std::vector<std::pair<std::string, UniqueFd>> fds;
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    std::string name = names != nullptr && names[i] != nullptr ? names[i] : "unknown";
    fds.emplace_back(std::move(name), UniqueFd(fd));
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return from_fds(std::move(fds));
}

FdInventory FdInventory::from_fds(std::vector<std::pair<std::string, UniqueFd>> fds) {
  FdInventory inv;
  for (auto& [name, fd] : fds) {
    if (inv.fds_.count(name) != 0) {
      spdlog::warn("fd store: fd {} named '{}' twice; closing the second", fd.get(), name);
      continue;  // UniqueFd closes it
    }
    inv.fds_.emplace(name, std::move(fd));
  }
  return inv;
}

bool FdInventory::has_device(std::string_view device) const {
  const std::string prefix = std::string(device) + ".";
  auto it = fds_.lower_bound(prefix);
  return it != fds_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

std::optional<UniqueFd> FdInventory::take(std::string_view name) {
  auto it = fds_.find(std::string(name));
  if (it == fds_.end()) return std::nullopt;
  UniqueFd fd = std::move(it->second);
  fds_.erase(it);
  return fd;
}

std::vector<std::string> FdInventory::names() const {
  std::vector<std::string> out;
  for (const auto& [name, fd] : fds_) out.push_back(name);
  return out;
}

std::vector<std::string> FdInventory::drop_device(std::string_view device) {
  const std::string prefix = std::string(device) + ".";
  std::vector<std::string> dropped;
  for (auto it = fds_.lower_bound(prefix);
       it != fds_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    dropped.push_back(it->first);
    it = fds_.erase(it);
  }
  return dropped;
}

void release_unclaimed(FdInventory& inventory, FdStore& store) {
  for (const std::string& name : inventory.names()) {
    inventory.take(name);  // closed here
    spdlog::warn("fd store: '{}' belongs to no configured device: closed and removed", name);
    if (Status s = store.remove(name); !s) spdlog::warn("{}", s.error().describe());
  }
}

}  // namespace uldd::supervisor::systemd
