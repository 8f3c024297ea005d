// NicDevice across a supervisor restart (docs/fd-store.md), as a disk's
// (disk_device_adoption.cc): the regions, eventfds, lifeline and TAP fd come
// from the service manager's fd store when a previous supervisor left them
// there and they fit the configuration; the e1000 model is reattached if it
// still runs (else a new one powers up on the same memory); whatever old
// driver is left is killed, and the RestartEngine starts a new one cold
// (device reset; the NetShim starts with every buffer free). The TAP netdev
// never went away, so its ifindex, addresses and routes stay. Once the NIC
// serves, every fd that must outlive this process goes (back) into the store.
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>

#include <cstring>

#include "shim/frontends/tap_frontend.h"
#include "supervisor/nic_device.h"
#include "supervisor/systemd/fd_checks.h"
#include "supervisor/systemd/process_identity.h"

namespace uldd::supervisor {

Status NicDevice::acquire_resources(systemd::FdInventory* inventory) {
  if (inventory != nullptr && inventory->has_device(cfg_.name)) {
    auto adopted = [&]() -> Status {
      auto res = NicResources::adopt(cfg_, *inventory);
      if (!res) return res.error();
      std::optional<UniqueFd> tap = inventory->take(cfg_.name + ".tap");
      if (!tap) return plain_error(cfg_.name + ".tap: not in the fd store");
      ULDD_TRY(systemd::check_tap(tap->get(), cfg_.tap, cfg_.name + ".tap"));
      adopted_tap_fd_ = std::move(*tap);
      res_ = std::move(res.value());
      return {};
    }();
    if (adopted) {
      adopted_ = true;
      spdlog::info("{}: adopted from the fd store (memory regions, eventfds, TAP {})", cfg_.name,
                   cfg_.tap);
      return {};
    }
    spdlog::error("{}: cannot adopt from the fd store: {}; the device starts fresh", cfg_.name,
                  adopted.error().describe());
    // Stale fds: ours closed, the store's removed (the old TAP goes with the
    // last copy; a fresh one of the same name is made below).
    adopted_tap_fd_.reset();
    inventory->drop_device(cfg_.name);
    if (handover_.store != nullptr) {
      systemd::FdStoreEntries names;
      NicResources{}.add_store_entries(cfg_.name, names);
      names.add(cfg_.name + ".tap", -1);
      names.mark_published();
      names.withdraw(*handover_.store);
    }
  }
  auto res = NicResources::create(cfg_);
  if (!res) return Error{res.error().code, cfg_.name + ": " + res.error().message};
  res_ = std::move(res.value());
  return {};
}

Status NicDevice::open_tap() {
  auto tap = adopted_tap_fd_.valid()
                 ? shim::TapFrontend::adopt(std::move(adopted_tap_fd_), cfg_.tap, cfg_.tap_netns)
                 : shim::TapFrontend::open(cfg_.tap, cfg_.tap_netns, cfg_.mac);
  if (!tap) return Error{tap.error().code, cfg_.name + ": TAP frontend: " + tap.error().message};
  tap_ = std::move(tap.value());
  return {};
}

Status NicDevice::bring_up_adopted_model() {
  auto* rec = res_.adoption_record();
  const systemd::ProcessIdentity model{rec->model_pid, rec->model_start_ticks};
  if (auto pidfd = systemd::open_if_same_process(model)) {
    model_ = ChildProcess::adopt(model.pid, std::move(*pidfd), cfg_.name + " device model");
    spdlog::info(
        "{}: device model reattached (pid {}, still running since the previous supervisor)",
        cfg_.name, model.pid);
    return {};
  }
  spdlog::warn("{}: device model (pid {}) is gone: starting a new one on the same memory",
               cfg_.name, model.pid);
  // The new model announces itself through the side band and STATUS: the
  // old values must go.
  std::memset(res_.bar.data(), 0, res_.bar.size());
  ULDD_TRY(res_.new_lifeline());
  lifeline_renewed_ = true;
  return start_model();
}

void NicDevice::kill_previous_driver() {
  auto* rec = res_.adoption_record();
  const systemd::ProcessIdentity driver{rec->driver_pid, rec->driver_start_ticks};
  rec->driver_pid = -1;
  auto pidfd = systemd::open_if_same_process(driver);
  if (!pidfd) {
    spdlog::info("{}: the previous driver (pid {}) is gone; a new one starts cold", cfg_.name,
                 driver.pid);
    return;
  }
  ::syscall(SYS_pidfd_send_signal, pidfd->get(), SIGKILL, nullptr, 0);
  pollfd gone{pidfd->get(), POLLIN, 0};
  ::poll(&gone, 1, 2000);
  spdlog::info(
      "{}: killed the previous driver (pid {}) that outlived its supervisor; a new one starts cold",
      cfg_.name, driver.pid);
}

void NicDevice::record_processes() {
  auto* rec = res_.adoption_record();
  if (rec == nullptr) return;
  const pid_t model = model_.running() ? model_.pid() : -1;
  if (rec->model_pid != model) {
    auto id = systemd::ProcessIdentity::of(model);
    rec->model_start_ticks = id ? id->start_ticks : 0;
    rec->model_pid = model;
  }
  const pid_t driver = driver_pid();
  if (rec->driver_pid != driver) {
    auto id = systemd::ProcessIdentity::of(driver);
    rec->driver_start_ticks = id ? id->start_ticks : 0;
    rec->driver_pid = driver;
  }
}

Status NicDevice::publish_fds() {
  if (handover_.store == nullptr || !handover_.store->active()) return {};
  res_.add_store_entries(cfg_.name, store_entries_);
  store_entries_.add(cfg_.name + ".tap", tap_->fd());
  if (adopted_) {
    // Already in the store; only a new lifeline replaces the dead model's.
    store_entries_.mark_published();
    if (lifeline_renewed_) {
      const std::string name = cfg_.name + ".lifeline";
      (void)handover_.store->remove(name);
      const int fd[] = {res_.lifeline.get()};
      ULDD_TRY(handover_.store->store(name, fd));
    }
    return {};
  }
  Status s = store_entries_.publish(*handover_.store);
  if (!s) return Error{s.error().code, cfg_.name + ": " + s.error().message};
  spdlog::info("{}: {} fds in the fd store", cfg_.name, store_entries_.entries().size());
  return {};
}

}  // namespace uldd::supervisor
