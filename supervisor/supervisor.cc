#include "supervisor/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "supervisor/dbus/bus_service.h"
#include "supervisor/metrics/metrics_file.h"
#include "supervisor/systemd/service_notifier.h"
#include "supervisor/systemd/status_summary.h"
#include "supervisor/systemd/watchdog_keeper.h"

namespace uldd::supervisor {
namespace {

// More start-up time asked of the service manager before each device comes
// up (EXTEND_TIMEOUT_USEC): a device model, a driver's controller bring-up
// and a FUSE mount take well under this even on a loaded machine.
constexpr auto kDeviceStartBudget = std::chrono::seconds(30);

}  // namespace

Supervisor::Supervisor(SupervisorConfig config, std::filesystem::path bin_dir)
    : config_(std::move(config)), bin_dir_(std::move(bin_dir)) {}

Status Supervisor::start() {
  notifier_ = systemd::ServiceNotifier::from_environment();
  watchdog_ = std::make_unique<systemd::WatchdogKeeper>(*notifier_);
  fd_store_ = systemd::FdStore::from_environment();
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
  if (ec)
    return Error{ec.value(), "cannot create runtime directory " + config_.runtime_dir.string()};

  // Policies: the built-in default plus every *.toml in policy_dir. At
  // start-up a bad file is fatal (nothing would say which policy a device
  // got); on SIGHUP it is reported and the last good set stays.
  policies_ = std::make_unique<policies::PolicyStore>(config_.policy_dir);
  if (std::filesystem::is_directory(config_.policy_dir)) {
    auto loaded = policies_->reload();
    if (!loaded) return Error{loaded.error().code, "policies: " + loaded.error().message};
  } else {
    spdlog::info("policy_dir {} does not exist: only the built-in 'default' policy",
                 config_.policy_dir.string());
  }
  for (const auto& disk : config_.disks) {
    notifier_->extend_timeout(kDeviceStartBudget);
    notifier_->status("starting " + disk.name);
    auto policy = policies_->find(disk.policy);
    if (!policy) {
      stop();
      return plain_error(disk.name + ": policy '" + disk.policy +
                         "' is neither built in nor a file " +
                         (config_.policy_dir / (disk.policy + ".toml")).string());
    }
    auto dev = DiskDevice::start(disk, config_, bin_dir_, *policy,
                                 DeviceHandover{fd_store_.get(), &inventory_});
    if (!dev) {
      stop();
      return dev.error();
    }
    disks_.push_back(std::move(dev.value()));
  }
  for (const auto& nic : config_.nics) {  // NICs: supervisor/nic_device.h
    notifier_->extend_timeout(kDeviceStartBudget);
    notifier_->status("starting " + nic.name);
    auto policy = policies_->find(nic.policy);
    if (!policy) {
      stop();
      return plain_error(nic.name + ": policy '" + nic.policy +
                         "' is neither built in nor a file " +
                         (config_.policy_dir / (nic.policy + ".toml")).string());
    }
    auto dev = NicDevice::start(nic, config_, bin_dir_, *policy,
                                DeviceHandover{fd_store_.get(), &inventory_});
    if (!dev) {
      stop();
      return dev.error();
    }
    nics_.push_back(std::move(dev.value()));
  }
  systemd::release_unclaimed(inventory_, *fd_store_);  // fds of devices no longer configured
  attach_control_plane();
  start_bus();
  publish_changes();
  write_metrics_file();
  notifier_->ready(systemd::status_summary(devices()));
  return {};
}

void Supervisor::start_bus() {
  if (config_.dbus == "none") return;
  dbus::BusOptions options;
  options.address = config_.dbus;
  options.control_group = config_.control_group;
  auto bus = dbus::BusService::start(*this, options);
  if (!bus) {
    // The devices serve without the API; the operator learns why here.
    spdlog::warn("D-Bus API not available ({}): {}", config_.dbus, bus.error().message);
    return;
  }
  bus_ = std::move(bus.value());
  events_ = bus_.get();
  spdlog::info("D-Bus API: org.uldd.Supervisor1 on {} as {}", config_.dbus, bus_->unique_name());
}

int Supervisor::run() {
  using clock = std::chrono::steady_clock;
  auto last_status = clock::now();
  for (;;) {
    // fds[0]: signals; fds[1]: the D-Bus connection (-1 = none, ignored by
    // ppoll); then each device's, owner[i] saying whose.
    std::vector<pollfd> fds{{signal_fd_, POLLIN, 0}, {-1, 0, 0}};
    std::vector<DeviceControl*> owner{nullptr, nullptr};
    auto next = clock::now() + std::chrono::hours(1);
    if (config_.status_interval_ms > 0)
      next = last_status + std::chrono::milliseconds(config_.status_interval_ms);
    if (bus_) {
      fds[1] = {bus_->fd(), bus_->poll_events(), 0};
      next = std::min(next, bus_->deadline());
    }
    if (auto ping = watchdog_->next_deadline()) next = std::min(next, *ping);
    for (DeviceControl* d : device_views_) {
      for (int fd : d->watched_fds()) {
        fds.push_back({fd, POLLIN, 0});
        owner.push_back(d);
      }
      next = std::min(next, d->next_deadline());
    }
    // Microseconds, not poll()'s milliseconds: a restarting driver's
    // kRunning report is polled every 20..500 us (RestartEngine kStarting).
    auto wait = std::chrono::ceil<std::chrono::microseconds>(next - clock::now());
    int64_t wait_us = std::clamp<int64_t>(wait.count(), 0, int64_t{3'600'000'000});
    timespec timeout{static_cast<time_t>(wait_us / 1'000'000),
                     static_cast<long>(wait_us % 1'000'000 * 1000)};
    ::ppoll(fds.data(), fds.size(), &timeout, nullptr);

    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(signal_fd_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          auto reloaded = reload_policies_for("SIGHUP");
          if (!reloaded)
            spdlog::error("SIGHUP: policy reload failed, keeping the last good policies:\n{}",
                          reloaded.error().message);
          continue;
        }
        spdlog::info("{}: stopping", sigabbrev_np(static_cast<int>(si.ssi_signo)));
        stop();
        return 0;
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) owner[i]->on_fd_ready(fds[i].fd);
    }
    for (DeviceControl* d : device_views_) {
      d->tick();
      RestartEngine* engine = d->engine();
      std::optional<int> status =
          engine != nullptr ? engine->stop_supervisor_status() : std::nullopt;
      if (status) {
        spdlog::critical("{}: policy says stop the supervisor: exiting with status {}", d->name(),
                         *status);
        stop();
        return *status;
      }
    }
    // D-Bus calls are handled after the devices moved on, so that a client
    // reads what this round did; then what changed is signalled.
    if (bus_ && (fds[1].revents != 0 || clock::now() >= bus_->deadline())) bus_->process();
    publish_changes();
    auto now = clock::now();
    if (config_.status_interval_ms > 0 &&
        now - last_status >= std::chrono::milliseconds(config_.status_interval_ms)) {
      for (DeviceControl* d : device_views_) spdlog::info("{}", d->status_line(now - last_status));
      notifier_->status(systemd::status_summary(devices()));
      write_metrics_file();
      last_status = now;
    }
    // Last: a round that got here is a healthy round.
    watchdog_->on_loop_round(now);
  }
}

void Supervisor::stop() {
  if (!stopping_announced_ && (!disks_.empty() || !nics_.empty())) {
    stopping_announced_ = true;
    set_state("stopping");
    if (notifier_) notifier_->stopping("stopping: taking devices down");
    if (bus_) bus_->flush();
    // Stale figures must not look current to a collector.
    if (!config_.metrics_file.empty()) metrics::MetricsFile(config_.metrics_file).remove();
  }
  device_views_.clear();
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
