// DiskDevice across a supervisor restart (docs/fd-store.md): the regions,
// eventfds, lifeline, /dev/fuse fd and NBD listener come from the service
// manager's fd store when a previous supervisor left them there and they fit
// the configuration; the device model is reattached if it still runs (else a
// new one powers up on the same memory and backing file); whatever old
// driver is left is killed, and the RestartEngine starts a new one cold. Once
// the device serves, every fd that must outlive this process goes (back)
// into the store.
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include <cstring>

#include "shim/frontends/fuse_frontend.h"
#include "shim/frontends/nbd_server.h"
#include "supervisor/disk_device.h"
#include "supervisor/systemd/fd_checks.h"
#include "supervisor/systemd/process_identity.h"

namespace uldd::supervisor {
namespace {

// Every name a disk keeps in the store besides its regions and eventfds.
constexpr const char* kFrontendRoles[] = {"fuse", "nbd"};

}  // namespace

Status DiskDevice::acquire_resources(systemd::FdInventory* inventory) {
  if (inventory != nullptr && inventory->has_device(cfg_.name)) {
    auto adopted = [&]() -> Status {
      auto res = DiskResources::adopt(cfg_, *inventory);
      if (!res) return res.error();
      std::optional<UniqueFd> fuse = inventory->take(cfg_.name + ".fuse");
      if (!cfg_.fuse_path.empty()) {
        if (!fuse) return plain_error(cfg_.name + ".fuse: not in the fd store");
        ULDD_TRY(systemd::check_fuse_device(fuse->get(), cfg_.name + ".fuse"));
        if (res->adoption_record()->fuse_init_length == 0)
          return plain_error(cfg_.name + ".record: no FUSE_INIT recorded for the mount");
        adopted_fuse_fd_ = std::move(*fuse);
      }
      std::optional<UniqueFd> nbd = inventory->take(cfg_.name + ".nbd");
      if (!cfg_.nbd_socket.empty()) {
        if (!nbd) return plain_error(cfg_.name + ".nbd: not in the fd store");
        ULDD_TRY(systemd::check_listening_unix_socket(nbd->get(), cfg_.name + ".nbd"));
        adopted_nbd_fd_ = std::move(*nbd);
      }
      res_ = std::move(res.value());
      return {};
    }();
    if (adopted) {
      adopted_ = true;
      adopted_at_ = std::chrono::steady_clock::now();
      spdlog::info("{}: adopted from the fd store (memory regions, eventfds{}{})", cfg_.name,
                   adopted_fuse_fd_.valid() ? ", /dev/fuse" : "",
                   adopted_nbd_fd_.valid() ? ", NBD listener" : "");
      return {};
    }
    spdlog::error("{}: cannot adopt from the fd store: {}; the device starts fresh", cfg_.name,
                  adopted.error().describe());
    // Stale fds: ours closed, the store's removed. A FUSE mount they kept
    // alive is detached without asking its (absent) server anything.
    adopted_fuse_fd_.reset();
    adopted_nbd_fd_.reset();
    inventory->drop_device(cfg_.name);
    if (handover_.store != nullptr) {
      systemd::FdStoreEntries names;
      DiskResources{}.add_store_entries(cfg_.name, names);
      for (const char* role : kFrontendRoles) names.add(cfg_.name + "." + role, -1);
      names.mark_published();
      names.withdraw(*handover_.store);
    }
    if (!cfg_.fuse_path.empty()) ::umount2(cfg_.fuse_path.c_str(), MNT_DETACH);
  }
  auto res = DiskResources::create(cfg_);
  if (!res) return Error{res.error().code, cfg_.name + ": " + res.error().message};
  res_ = std::move(res.value());
  return {};
}

Status DiskDevice::bring_up_adopted_model() {
  auto* rec = res_.adoption_record();
  const systemd::ProcessIdentity model{rec->model_pid, rec->model_start_ticks};
  if (auto pidfd = systemd::open_if_same_process(model)) {
    model_ = ChildProcess::adopt(model.pid, std::move(*pidfd), cfg_.name + " device model");
    spdlog::info(
        "{}: device model reattached (pid {}, still running since the previous supervisor)",
        cfg_.name, model.pid);
    return {};
  }
  spdlog::warn(
      "{}: device model (pid {}) is gone: starting a new one on the same memory and backing file "
      "(a power cycle)",
      cfg_.name, model.pid);
  // The new model announces itself by writing VS: the old value must go.
  std::memset(res_.bar.data(), 0, res_.bar.size());
  ULDD_TRY(res_.new_lifeline());
  lifeline_renewed_ = true;
  return start_model();
}

void DiskDevice::kill_previous_driver() {
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

void DiskDevice::record_processes() {
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

Status DiskDevice::publish_fds() {
  if (handover_.store == nullptr || !handover_.store->active()) return {};
  res_.add_store_entries(cfg_.name, store_entries_);
  if (fuse_) store_entries_.add(cfg_.name + ".fuse", fuse_->fuse_fd());
  if (nbd_) store_entries_.add(cfg_.name + ".nbd", nbd_->listener_fd());
  if (adopted_) {
    // Already in the store (removing and storing again would leave a moment
    // with the only copy in this process). Only a new lifeline replaces the
    // dead model's.
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

void DiskDevice::log_adoption_progress() {
  // Resent requests arrive as the loop reads them: report once, a moment
  // after the adoption, with what the kernel gave back by then.
  if (!adopted_ || adoption_logged_ || !fuse_) return;
  if (std::chrono::steady_clock::now() - adopted_at_ < std::chrono::seconds(1)) return;
  adoption_logged_ = true;
  spdlog::info("{}: adoption done: {} FUSE request(s) resent by the kernel and served again{}",
               cfg_.name, fuse_->resent_requests(),
               fuse_->resend_accepted() ? "" : " (FUSE_NOTIFY_RESEND refused)");
}

}  // namespace uldd::supervisor
