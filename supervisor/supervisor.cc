#include "supervisor/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
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

  // Policies: the built-in default plus every *.toml in policy_dir. At
  // start-up a bad file is fatal (nothing would say which policy a device
  // got); on SIGHUP it is reported and the last good set stays.
  policies_ = std::make_unique<policies::PolicyStore>(config_.policy_dir);
  if (std::filesystem::is_directory(config_.policy_dir)) {
    auto loaded = policies_->reload();
    if (!loaded) return Error{loaded.error().code, "policies: " + loaded.error().message};
  } else {
    spdlog::info("policy_dir {} does not exist: only the built-in 'default' policy", config_.policy_dir.string());
  }
  for (const auto& disk : config_.disks) {
    auto policy = policies_->find(disk.policy);
    if (!policy) {
      stop();
      return plain_error(disk.name + ": policy '" + disk.policy + "' is neither built in nor a file " +
                         (config_.policy_dir / (disk.policy + ".toml")).string());
    }
    auto dev = DiskDevice::start(disk, config_, bin_dir_, *policy);
    if (!dev) {
      stop();
      return dev.error();
    }
    disks_.push_back(std::move(dev.value()));
  }
  for (const auto& nic : config_.nics) {  // NICs: supervisor/nic_device.h
    auto policy = policies_->find(nic.policy);
    if (!policy) {
      stop();
      return plain_error(nic.name + ": policy '" + nic.policy + "' is neither built in nor a file " +
                         (config_.policy_dir / (nic.policy + ".toml")).string());
    }
    auto dev = NicDevice::start(nic, config_, bin_dir_, *policy);
    if (!dev) {
      stop();
      return dev.error();
    }
    nics_.push_back(std::move(dev.value()));
  }
  return {};
}

void Supervisor::reload_policies() {
  auto loaded = policies_->reload();
  if (!loaded) {
    spdlog::error("SIGHUP: policy reload failed, keeping the last good policies:\n{}", loaded.error().message);
    return;
  }
  for (auto& d : disks_) {
    const std::string& name = config_.disks[static_cast<size_t>(&d - &disks_[0])].policy;
    auto policy = policies_->find(name);
    if (!policy) {
      spdlog::error("SIGHUP: {}: policy '{}' no longer exists; keeping the one in use", d->name(), name);
      continue;
    }
    d->set_policy(*policy);
    spdlog::info("SIGHUP: {}: policy '{}' reloaded from {}", d->name(), name, policy->source);
  }
  for (auto& n : nics_) {
    const std::string& name = config_.nics[static_cast<size_t>(&n - &nics_[0])].policy;
    auto policy = policies_->find(name);
    if (!policy) {
      spdlog::error("SIGHUP: {}: policy '{}' no longer exists; keeping the one in use", n->name(), name);
      continue;
    }
    n->set_policy(*policy);
    spdlog::info("SIGHUP: {}: policy '{}' reloaded from {}", n->name(), name, policy->source);
  }
}

int Supervisor::run() {
  using clock = std::chrono::steady_clock;
  auto last_status = clock::now();
  for (;;) {
    std::vector<pollfd> fds{{signal_fd_, POLLIN, 0}};
    std::vector<DiskDevice*> owner{nullptr};
    auto next = clock::now() + std::chrono::hours(1);
    if (config_.status_interval_ms > 0)
      next = last_status + std::chrono::milliseconds(config_.status_interval_ms);
    for (auto& d : disks_) {
      for (int fd : d->watched_fds()) {
        fds.push_back({fd, POLLIN, 0});
        owner.push_back(d.get());
      }
      next = std::min(next, d->next_deadline());
    }
    const size_t first_nic_fd = fds.size();
    std::vector<NicDevice*> nic_owner;
    for (auto& n : nics_) {
      for (int fd : n->watched_fds()) {
        fds.push_back({fd, POLLIN, 0});
        nic_owner.push_back(n.get());
      }
      next = std::min(next, n->next_deadline());
    }
    // Microseconds, not poll()'s milliseconds: a restarting driver's
    // kRunning report is polled every 20..500 us (RestartEngine kStarting).
    auto wait = std::chrono::ceil<std::chrono::microseconds>(next - clock::now());
    int64_t wait_us = std::clamp<int64_t>(wait.count(), 0, int64_t{3'600'000'000});
    timespec timeout{static_cast<time_t>(wait_us / 1'000'000), static_cast<long>(wait_us % 1'000'000 * 1000)};
    ::ppoll(fds.data(), fds.size(), &timeout, nullptr);

    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          reload_policies();
          continue;
        }
        spdlog::info("{}: stopping", sigabbrev_np(static_cast<int>(si.ssi_signo)));
        stop();
        return 0;
      }
    }
    for (size_t i = 1; i < first_nic_fd; ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) owner[i]->on_fd_ready(fds[i].fd);
    }
    for (size_t i = first_nic_fd; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) nic_owner[i - first_nic_fd]->on_fd_ready(fds[i].fd);
    }
    for (auto& d : disks_) {
      d->tick();
      RestartEngine* engine = d->engine();
      std::optional<int> status = engine != nullptr ? engine->stop_supervisor_status() : std::nullopt;
      if (status) {
        spdlog::critical("{}: policy says stop the supervisor: exiting with status {}", d->name(), *status);
        stop();
        return *status;
      }
    }
    for (auto& n : nics_) {
      n->tick();
      RestartEngine* engine = n->engine();
      std::optional<int> status = engine != nullptr ? engine->stop_supervisor_status() : std::nullopt;
      if (status) {
        spdlog::critical("{}: policy says stop the supervisor: exiting with status {}", n->name(), *status);
        stop();
        return *status;
      }
    }
    if (config_.status_interval_ms > 0 &&
        clock::now() - last_status >= std::chrono::milliseconds(config_.status_interval_ms)) {
      auto now = clock::now();
      for (auto& d : disks_) spdlog::info("{}", d->status_line(now - last_status));
      for (auto& n : nics_) spdlog::info("{}", n->status_line(now - last_status));
      last_status = now;
    }
  }
}

void Supervisor::stop() {
  for (auto it = nics_.rbegin(); it != nics_.rend(); ++it) (*it)->stop();
  nics_.clear();
  for (auto it = disks_.rbegin(); it != disks_.rend(); ++it) (*it)->stop();
  disks_.clear();
}

Supervisor::~Supervisor() {
  stop();
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

}  // namespace uldd::supervisor
