#include "supervisor/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>

#include <spdlog/spdlog.h>

namespace uldd::supervisor {

Status Supervisor::start() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  // Blocked in every thread started from here on (FUSE, NBD, shims) and read
  // from the signalfd by the main loop only. Children get a clear mask.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a vanished NBD client must not kill the supervisor
  signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) return errno_error("signalfd");

  std::error_code ec;
  std::filesystem::create_directories(config_.runtime_dir, ec);
  if (ec) return Error{ec.value(), "cannot create runtime directory " + config_.runtime_dir.string()};

  for (const auto& disk : config_.disks) {
    auto dev = DiskDevice::start(disk, config_, bin_dir_);
    if (!dev) {
      stop();
      return dev.error();
    }
    disks_.push_back(std::move(dev.value()));
  }
  return {};
}

int Supervisor::run() {
  using clock = std::chrono::steady_clock;
  auto last_status = clock::now();
  int exit_code = 0;
  for (;;) {
    std::vector<pollfd> fds{{signal_fd_, POLLIN, 0}};
    std::vector<DiskDevice*> owner{nullptr};
    for (auto& d : disks_) {
      for (int fd : d->pidfds()) {
        fds.push_back({fd, POLLIN, 0});
        owner.push_back(d.get());
      }
    }
    int timeout = config_.status_interval_ms > 0 ? static_cast<int>(config_.status_interval_ms) : -1;
    ::poll(fds.data(), fds.size(), timeout);

    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          spdlog::info("SIGHUP: nothing to reload yet (policies come with the restart engine)");
          continue;
        }
        spdlog::info("{}: stopping", sigabbrev_np(static_cast<int>(si.ssi_signo)));
        stop();
        return exit_code;
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) owner[i]->on_child_exit(fds[i].fd);
    }
    if (config_.status_interval_ms > 0 &&
        clock::now() - last_status >= std::chrono::milliseconds(config_.status_interval_ms)) {
      auto now = clock::now();
      for (auto& d : disks_) spdlog::info("{}", d->status_line(now - last_status));
      last_status = now;
    }
  }
}

void Supervisor::stop() {
  for (auto it = disks_.rbegin(); it != disks_.rend(); ++it) (*it)->stop();
  disks_.clear();
}

Supervisor::~Supervisor() {
  stop();
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

}  // namespace uldd::supervisor
