#include "supervisor/systemd/fd_store.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace uldd::supervisor::systemd {
namespace {

class NullFdStore final : public FdStore {
 public:
  bool active() const override { return false; }
  Status store(std::string_view, std::span<const int>) override { return {}; }
  Status remove(std::string_view) override { return {}; }
};

class SystemdFdStore final : public FdStore {
 public:
  bool active() const override { return true; }

  Status store(std::string_view name, std::span<const int> fds) override {
    if (!fd_name_valid(name))
      return Error{EINVAL, "fd store: invalid FDNAME '" + std::string(name) + "'"};
    const std::string message = "FDSTORE=1\nFDNAME=" + std::string(name);
    return send(message, fds, name);
  }

  Status remove(std::string_view name) override {
    if (!fd_name_valid(name))
      return Error{EINVAL, "fd store: invalid FDNAME '" + std::string(name) + "'"};
    const std::string message = "FDSTOREREMOVE=1\nFDNAME=" + std::string(name);
    return send(message, {}, name);
  }

 private:
  static Status send(const std::string& message, std::span<const int> fds, std::string_view name) {
    // unset_environment = 0: NOTIFY_SOCKET serves every later message too.
    int r = sd_pid_notify_with_fds(0, 0, message.c_str(), fds.data(),
                                   static_cast<unsigned>(fds.size()));
    if (r < 0) return Error{-r, "fd store: sd_pid_notify_with_fds(" + std::string(name) + ")"};
    if (r == 0) return plain_error("fd store: NOTIFY_SOCKET vanished from the environment");
    return {};
  }
};

}  // namespace

bool fd_name_valid(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (c < 0x20 || c > 0x7e || c == ':') return false;
  }
  return true;
}

std::unique_ptr<FdStore> FdStore::from_environment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return null();
  return std::make_unique<SystemdFdStore>();
}

std::unique_ptr<FdStore> FdStore::null() {
  return std::make_unique<NullFdStore>();
}

Status FdStoreEntries::publish(FdStore& store) {
  if (!store.active()) return {};
  for (const auto& [name, fd] : entries_) {
    const int one[] = {fd};
    ULDD_TRY(store.store(name, one));
    published_ = true;
  }
  return {};
}

void FdStoreEntries::withdraw(FdStore& store) {
  if (!store.active() || !published_) return;
  for (const auto& [name, fd] : entries_) {
    if (Status s = store.remove(name); !s) spdlog::warn("{}", s.error().describe());
  }
  published_ = false;
}

}  // namespace uldd::supervisor::systemd
