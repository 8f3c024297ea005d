#include "supervisor/disk_device.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "abi/driver_fds.h"
#include "devices/device_model_fds.h"
#include "devices/nvme/nvme_spec.h"
#include "drivers/nvme/nvme_driver.h"
#include "shim/direct_driver_port.h"
#include "shim/disk_shim.h"
#include "shim/frontends/fuse_frontend.h"
#include "shim/frontends/nbd_server.h"
#include "shim/ring_driver_port.h"
#include "supervisor/colocated_uio.h"
#include "supervisor/device_fd_set.h"
#include "uio/emulated_uio.h"

namespace uldd::supervisor {
namespace {

shim::ErrorRetry error_retry_of(const policies::RestartPolicy& p) {
  return {p.error_retries, p.retry_delay, p.retry_permanent};
}

std::string mib(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", bytes / 1048576.0);
}

}  // namespace

Result<std::unique_ptr<DiskDevice>> DiskDevice::start(const DiskDeviceConfig& cfg,
                                                      const SupervisorConfig& sup,
                                                      const std::filesystem::path& bin_dir,
                                                      const policies::RestartPolicy& policy,
                                                      DeviceHandover handover) {
  const std::optional<KernelUioTarget> kernel = parse_kernel_uio(cfg.uio);
  std::unique_ptr<DiskDevice> dev(new DiskDevice(cfg, bin_dir, sup.driver_user));
  dev->handover_ = handover;
  // A real device is opened afresh by every supervisor: nothing of it goes
  // through the fd store (its DMA pages must be pinned by a living process).
  ULDD_TRY(dev->acquire_resources(kernel ? nullptr : handover.inventory));  // fd store or new
  dev->res_.control_block()->config.heartbeat_interval_us =
      static_cast<uint32_t>(std::chrono::microseconds(policy.heartbeat_interval).count());

  if (kernel) {
    auto k = KernelDeviceFiles::open_replacing_dma(cfg.name, *kernel, dev->res_.dma);
    if (!k) return k.error();
    dev->kernel_ = std::move(k.value());
    // NVMe queues must be contiguous in bus-address space (QEMU and most
    // controllers set CAP.CQR): without huge pages one queue fits one 4 KiB page.
    if (!dev->kernel_->pinned_dma().hugetlb() && cfg.queue_depth * 64u > 4096u)
      return plain_error(cfg.name + ": queue_depth " + std::to_string(cfg.queue_depth) + " needs " +
                         std::to_string(cfg.queue_depth * 64u) +
                         " contiguous bytes per submission queue, but the DMA region has no huge "
                         "pages (4 KiB pages): reserve huge pages (vm.nr_hugepages) or set "
                         "queue_depth <= 64");
  } else {
    ULDD_TRY(dev->adopted_ ? dev->bring_up_adopted_model() : dev->start_model());
  }
  if (dev->adopted_) dev->kill_previous_driver();  // the successor starts cold, below
  if (cfg.mode == DriverMode::kIsolated) {
    // The seed is the device name's hash: restarts of one device jitter the
    // same way run after run (campaigns replay), different devices differ.
    DriverHost& host = *dev;
    dev->engine_ =
        std::make_unique<RestartEngine>(host, policy, std::hash<std::string>{}(cfg.name));
    ULDD_TRY(dev->engine_->start());
  } else {
    ULDD_TRY(dev->start_colocated_driver());
  }

  shim::DiskShimOptions so;
  so.device_name = cfg.name;
  so.size_bytes = cfg.size_bytes;
  so.max_transfer = cfg.max_transfer;
  so.buffer_area = dev->res_.dma.data() + dev->res_.buffer_area_offset();
  so.buffer_area_iova = dev->res_.buffer_area_offset();
  so.buffer_count = cfg.buffers;
  // A driver that breaks the protocol is a faulty driver: the engine kills
  // and restarts it like a crashed one. Colocated: no driver process to
  // restart, so no callback (the shim then only logs, and never parks a
  // request for a restart that cannot come: disk_shim_retry.cc).
  DiskDevice* raw = dev.get();
  if (dev->engine_)
    so.on_driver_fault = [raw](const std::string& reason) {
      if (raw->engine_) raw->engine_->report_fault(reason);
    };
  // A request the driver keeps without completing (policy request_timeout):
  // killed as hung and restarted cold. Colocated: no driver process to restart.
  if (dev->engine_) so.request_timeout = dev->engine_->policy().request_timeout;
  // Error completions are retried as policy [errors] says (docs/recovery.md).
  if (dev->engine_) so.error_retry = error_retry_of(dev->engine_->policy());
  so.on_request_timeout = [raw](const std::string& reason) {
    if (raw->engine_) raw->engine_->report_stuck_request(reason);
  };
  std::unique_ptr<shim::DriverPort> port;
  if (cfg.mode == DriverMode::kIsolated) {
    port = std::make_unique<shim::RingDriverPort>(dev->res_.ring_view, dev->res_.driver_wake,
                                                  dev->res_.shim_wake);
  } else {
    port = std::make_unique<shim::DirectDriverPort<drivers::NvmeDriver>>(*dev->colocated_driver_);
  }
  dev->shim_ = std::make_unique<shim::DiskShim>(so, std::move(port));
  ULDD_TRY(dev->shim_->start());

  if (!cfg.fuse_path.empty()) {
    auto* rec = dev->res_.adoption_record();
    shim::FuseHandover fh{&rec->fuse_init_length, std::span(rec->fuse_init),
                          std::move(dev->adopted_fuse_fd_)};
    auto fuse = shim::FuseFrontend::start(*dev->shim_, cfg.fuse_path, cfg.name, std::move(fh));
    if (!fuse)
      return Error{fuse.error().code, cfg.name + ": FUSE frontend: " + fuse.error().message};
    dev->fuse_ = std::move(fuse.value());
  }
  if (!cfg.nbd_socket.empty()) {
    auto nbd = shim::NbdServer::start(*dev->shim_, cfg.nbd_socket, cfg.name,
                                      std::move(dev->adopted_nbd_fd_));
    if (!nbd) return Error{nbd.error().code, cfg.name + ": NBD frontend: " + nbd.error().message};
    dev->nbd_ = std::move(nbd.value());
  }
  dev->record_processes();
  if (!dev->kernel_) ULDD_TRY(dev->publish_fds());
  spdlog::info("{}: up: {} NVMe ({}), driver {} {}, policy '{}', FUSE file {}, NBD socket {}",
               cfg.name, mib(cfg.size_bytes),
               dev->kernel_ ? "kernel UIO " + dev->kernel_->describe() : cfg.backing_file.string(),
               cfg.mode == DriverMode::kIsolated ? "process" : "colocated",
               cfg.mode == DriverMode::kIsolated ? "pid " + std::to_string(dev->driver_pid())
                                                 : "in supervisor",
               policy.name, cfg.fuse_path.empty() ? "off" : cfg.fuse_path.string(),
               cfg.nbd_socket.empty() ? "off" : cfg.nbd_socket.string());
  return dev;
}

Status DiskDevice::start_model() {
  std::error_code ec;
  std::filesystem::create_directories(cfg_.backing_file.parent_path(), ec);
  SpawnSpec spec;
  spec.executable = bin_dir_ / "uldd-hw";
  spec.role = cfg_.name + " device model";
  spec.args = {"nvme",
               "--backing",
               cfg_.backing_file.string(),
               "--size",
               std::to_string(cfg_.size_bytes),
               "--serial",
               "uldd-" + cfg_.name};
  if (cfg_.model_latency_us > 0) {
    spec.args.push_back("--latency-us");
    spec.args.push_back(std::to_string(cfg_.model_latency_us));
  }
  if (cfg_.model_max_iops > 0) {
    spec.args.push_back("--max-iops");
    spec.args.push_back(std::to_string(cfg_.model_max_iops));
  }
  spec.fds = {{hw::kModelFdBar, res_.bar.fd()},
              {hw::kModelFdDma, res_.dma.fd()},
              {hw::kModelFdIrq, res_.irq.fd()},
              {hw::kModelFdDoorbell, res_.doorbell.fd()},
              {hw::kModelFdLifeline, res_.lifeline_model_end.get()},
              {hw::kModelFdFaults, res_.faults.fd()}};
  spec.args.push_back("--fault-fd");
  spec.args.push_back(std::to_string(hw::kModelFdFaults));
  // The hardware outlives a crashed supervisor (docs/fd-store.md): no
  // PDEATHSIG; it powers off when its lifeline hangs up instead.
  spec.args.push_back("--lifeline-fd");
  spec.args.push_back(std::to_string(hw::kModelFdLifeline));
  spec.die_with_supervisor = false;
  auto child = ChildProcess::spawn(spec);
  if (!child) return child.error();
  model_ = std::move(child.value());
  res_.lifeline_model_end.reset();  // only the model holds the read end
  record_processes();
  // The model writes CAP and VS once it has initialised the BAR; a driver
  // started earlier could see its CC write wiped by that power-on reset.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (uio::load_register(res_.bar.data(), nvme::kRegVs) != nvme::kVersion14) {
    if (auto status = model_.try_reap())
      return plain_error(cfg_.name + ": device model " + ChildProcess::describe_status(*status) +
                         " during start-up");
    if (std::chrono::steady_clock::now() > deadline)
      return plain_error(cfg_.name + ": device model did not come up within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

SpawnSpec DiskDevice::driver_spawn_spec(bool standby, int release_fd) {
  SpawnSpec spec;
  spec.executable = cfg_.driver.empty() ? bin_dir_ / "uldd-nvme-driver" : cfg_.driver;
  spec.role = cfg_.name + (standby ? " standby driver" : " driver");
  spec.args = {kernel_ ? "--uio=kernel" : "--uio=emulated", "--device", cfg_.name};
  if (standby) spec.args.push_back("--standby");
  spec.user = driver_user_;
  spec.fds = driver_spawn_fds(res_, kernel_.get(), standby, release_fd);
  // The allow-list and the current policy's [limits] (a SIGHUP reload applies
  // from the next spawn; the engine enforces the same on every spawn).
  spec.sandbox = sandbox_for(engine_ ? engine_->policy().limits : policies::ResourceLimits{});
  return spec;
}

void DiskDevice::hold_requests() {
  if (shim_) shim_->hold();
}

Result<uint32_t> DiskDevice::prepare_successor(Resend how) {
  if (!shim_) return uint32_t{0};  // first start: nothing outstanding yet
  shim::ResendMode mode = how == Resend::kAdopt     ? shim::ResendMode::kAdopt
                          : how == Resend::kReissue ? shim::ResendMode::kReissue
                                                    : shim::ResendMode::kFail;
  return shim_->restart(mode);
}

int64_t DiskDevice::first_completion_ns() const {
  return shim_ ? shim_->stats().first_completion_after_restart_ns.load(std::memory_order_acquire)
               : 0;
}

void DiskDevice::fail_device(const std::string& reason) {
  failed_ = true;
  if (shim_ && !shim_stopped_) {
    spdlog::error("{}: device FAILED ({}): open and new requests complete with EIO", cfg_.name,
                  reason);
    shim_->stop();
    shim_stopped_ = true;
  }
}

Status DiskDevice::start_colocated_driver() {
  auto uio = kernel_ ? open_kernel_device(*kernel_, res_.dma.fd()) : open_emulated_device(res_);
  if (!uio) return Error{uio.error().code, cfg_.name + ": " + uio.error().message};
  colocated_uio_ = std::move(uio.value());
  auto driver = drivers::NvmeDriver::create(*colocated_uio_, res_.control_block()->config,
                                            res_.control_block(),
                                            res_.checkpoint.as<abi::CheckpointRegion>());
  if (!driver) return driver.error();
  colocated_driver_ = std::move(driver.value());
  auto up = colocated_driver_->bring_up();
  if (!up) return Error{up.error().code, cfg_.name + ": colocated driver: " + up.error().message};
  return {};
}

std::vector<int> DiskDevice::watched_fds() const {
  std::vector<int> fds;
  if (model_.running()) fds.push_back(model_.pidfd());
  if (engine_) {
    auto e = engine_->watched_fds();
    fds.insert(fds.end(), e.begin(), e.end());
  }
  return fds;
}

void DiskDevice::on_fd_ready(int fd) {
  if (model_.running() && fd == model_.pidfd()) {
    if (auto status = model_.try_reap()) {
      // The hardware is gone: no driver can help.
      spdlog::error("{}: device model (pid {}) {}", cfg_.name, model_.pid(),
                    ChildProcess::describe_status(*status));
      if (engine_) engine_->stop();
      fail_device("device model " + ChildProcess::describe_status(*status));
    }
    return;
  }
  if (engine_) engine_->on_fd_ready(fd);
}

void DiskDevice::tick() {
  if (stopped_) return;
  record_processes();
  log_adoption_progress();
  if (!engine_) return;
  engine_->tick();
  // A cold successor that runs has reset the controller (CC.EN = 0 aborts
  // every command): buffer slots of requests failed at the restart
  // (inflight = "fail") may be used again.
  uint64_t cold = engine_->counters().restarts_cold;
  if (cold != quarantine_released_for_) {
    quarantine_released_for_ = cold;
    shim_->release_quarantine();
  }
}

std::chrono::steady_clock::time_point DiskDevice::next_deadline() const {
  if (engine_ && !stopped_) return engine_->next_deadline();
  return std::chrono::steady_clock::now() + std::chrono::seconds(1);
}

void DiskDevice::set_policy(const policies::RestartPolicy& policy) {
  if (!engine_) return;
  engine_->set_policy(policy);
  if (shim_) shim_->set_request_timeout(policy.request_timeout);
  if (shim_) shim_->set_error_retry(error_retry_of(policy));
}

std::string DiskDevice::status_line(std::chrono::steady_clock::duration since_last) {
  const auto& s = shim_->stats();
  uint64_t rb = s.read_bytes.load(), wb = s.write_bytes.load();
  double secs = std::chrono::duration<double>(since_last).count();
  double rrate = secs > 0 ? (rb - last_read_bytes_) / secs / 1048576.0 : 0;
  double wrate = secs > 0 ? (wb - last_write_bytes_) / secs / 1048576.0 : 0;
  last_read_bytes_ = rb;
  last_write_bytes_ = wb;
  const auto& ds = res_.control_block()->status;
  std::string driver = "colocated";
  if (engine_) {
    const RecoveryCounters& rc = engine_->counters();
    driver = fmt::format(
        "pid {} restarts {} warm / {} cold, start failures {}{}", engine_->driver_pid(),
        rc.restarts_warm, rc.restarts_cold, rc.start_failures,
        engine_->standby_pid() > 0 ? fmt::format(", standby pid {}", engine_->standby_pid()) : "");
  }
  return fmt::format(
      "{}: {} | driver {} | reads {} ({}, {:.1f} MiB/s) writes {} ({}, {:.1f} MiB/s) flushes {} | "
      "open {} in flight {} | "
      "errors {} violations {} | driver heartbeat {} irqs {}",
      cfg_.name, failed_ ? "FAILED" : (shim_->held() ? "RECOVERING" : "serving"), driver,
      s.reads.load(), mib(rb), rrate, s.writes.load(), mib(wb), wrate, s.flushes.load(),
      s.requests_open.load(), s.descriptors_in_flight.load(), s.errors.load(),
      s.protocol_violations.load(), abi::load_shared(ds.heartbeat),
      abi::load_shared(ds.interrupts));
}

void DiskDevice::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Frontends first: no new requests. Then let what was accepted finish.
  // A request the device never completes (a stopped or stuck driver under a
  // patient policy) keeps a FUSE worker or an NBD connection waiting in the
  // shim, and with it the frontend's stop: after 5 s a rescue thread stops
  // the shim, which fails what is open and so releases them.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool frontends_stopped = false;
  std::thread rescue([&] {
    std::unique_lock lock(stop_mutex);
    if (stop_cv.wait_for(lock, std::chrono::seconds(5), [&] { return frontends_stopped; })) return;
    lock.unlock();
    spdlog::warn("{}: frontends still waiting on requests after 5 s; failing the open requests",
                 cfg_.name);
    if (shim_) shim_->stop();
  });
  if (fuse_) fuse_->stop();
  if (nbd_) nbd_->stop();
  {
    std::lock_guard lock(stop_mutex);
    frontends_stopped = true;
  }
  stop_cv.notify_all();
  rescue.join();
  if (shim_ && !shim_->drain(std::chrono::seconds(5)))
    spdlog::warn("{}: requests still open after 5 s; failing them", cfg_.name);
  if (shim_) shim_->stop();
  if (engine_) engine_->stop();
  colocated_driver_.reset();
  colocated_uio_.reset();
  if (model_.running()) model_.terminate(std::chrono::seconds(5));
  kernel_.reset();  // bus mastering off, DMA pages unpinned
  // A clean stop: the next start is a fresh one.
  if (handover_.store != nullptr) store_entries_.withdraw(*handover_.store);
  spdlog::info("{}: stopped", cfg_.name);
}

DiskDevice::DiskDevice(DiskDeviceConfig cfg, std::filesystem::path bin_dir, std::string driver_user)
    : cfg_(std::move(cfg)), bin_dir_(std::move(bin_dir)), driver_user_(std::move(driver_user)) {}

DiskDevice::~DiskDevice() {
  stop();
}

}  // namespace uldd::supervisor
