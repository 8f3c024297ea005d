#include "supervisor/disk_device.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include <spdlog/spdlog.h>

#include "abi/driver_fds.h"
#include "devices/device_model_fds.h"
#include "devices/nvme/nvme_spec.h"
#include "drivers/nvme/nvme_driver.h"
#include "shim/direct_driver_port.h"
#include "shim/disk_shim.h"
#include "shim/frontends/fuse_frontend.h"
#include "shim/frontends/nbd_server.h"
#include "shim/ring_driver_port.h"
#include "uio/emulated_uio.h"

namespace uldd::supervisor {
namespace {

Result<UniqueFd> dup_fd(int fd, const std::string& what) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return errno_error("dup(" + what + ")");
  return UniqueFd(d);
}

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

}  // namespace

Result<std::unique_ptr<DiskDevice>> DiskDevice::start(const DiskDeviceConfig& cfg, const SupervisorConfig& sup,
                                                      const std::filesystem::path& bin_dir) {
  if (cfg.uio != "emulated")
    return plain_error(cfg.name + ": uio = \"" + cfg.uio +
                       "\": the supervisor drives emulated devices only so far; the kernel UIO backend "
                       "(uio/kernel_uio.h) is not wired to device start-up yet");
  std::unique_ptr<DiskDevice> dev(new DiskDevice(cfg));
  auto res = DiskResources::create(cfg);
  if (!res) return Error{res.error().code, cfg.name + ": " + res.error().message};
  dev->res_ = std::move(res.value());

  ULDD_TRY(dev->start_model(bin_dir));
  if (cfg.mode == DriverMode::kIsolated) {
    ULDD_TRY(dev->start_isolated_driver(bin_dir, sup.driver_user));
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
  // A driver that breaks the protocol is a faulty driver: kill it; its pidfd
  // then reports the death like any crash.
  DiskDevice* raw = dev.get();
  so.on_driver_fault = [raw](const std::string&) { raw->driver_.kill_now(SIGKILL); };
  std::unique_ptr<shim::DriverPort> port;
  if (cfg.mode == DriverMode::kIsolated) {
    port = std::make_unique<shim::RingDriverPort>(dev->res_.ring_view, dev->res_.driver_wake, dev->res_.shim_wake);
  } else {
    port = std::make_unique<shim::DirectDriverPort<drivers::NvmeDriver>>(*dev->colocated_driver_);
  }
  dev->shim_ = std::make_unique<shim::DiskShim>(so, std::move(port));
  ULDD_TRY(dev->shim_->start());

  if (!cfg.fuse_path.empty()) {
    auto fuse = shim::FuseFrontend::start(*dev->shim_, cfg.fuse_path, cfg.name);
    if (!fuse) return Error{fuse.error().code, cfg.name + ": FUSE frontend: " + fuse.error().message};
    dev->fuse_ = std::move(fuse.value());
  }
  if (!cfg.nbd_socket.empty()) {
    auto nbd = shim::NbdServer::start(*dev->shim_, cfg.nbd_socket, cfg.name);
    if (!nbd) return Error{nbd.error().code, cfg.name + ": NBD frontend: " + nbd.error().message};
    dev->nbd_ = std::move(nbd.value());
  }
  spdlog::info("{}: up: {} NVMe ({}), driver {} {}, FUSE file {}, NBD socket {}", cfg.name, mib(cfg.size_bytes),
               cfg.backing_file.string(), cfg.mode == DriverMode::kIsolated ? "process" : "colocated",
               cfg.mode == DriverMode::kIsolated ? "pid " + std::to_string(dev->driver_.pid()) : "in supervisor",
               cfg.fuse_path.empty() ? "off" : cfg.fuse_path.string(),
               cfg.nbd_socket.empty() ? "off" : cfg.nbd_socket.string());
  return dev;
}

Status DiskDevice::start_model(const std::filesystem::path& bin_dir) {
  std::error_code ec;
  std::filesystem::create_directories(cfg_.backing_file.parent_path(), ec);
  SpawnSpec spec;
  spec.executable = bin_dir / "uldd-hw";
  spec.role = cfg_.name + " device model";
  spec.args = {"nvme", "--backing", cfg_.backing_file.string(), "--size", std::to_string(cfg_.size_bytes),
               "--serial", "uldd-" + cfg_.name};
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
              {hw::kModelFdDoorbell, res_.doorbell.fd()}};
  auto child = ChildProcess::spawn(spec);
  if (!child) return child.error();
  model_ = std::move(child.value());
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

Status DiskDevice::start_isolated_driver(const std::filesystem::path& bin_dir, const std::string& user) {
  SpawnSpec spec;
  spec.executable = bin_dir / "uldd-nvme-driver";
  spec.role = cfg_.name + " driver";
  spec.args = {"--uio=emulated", "--device", cfg_.name};
  spec.user = user;
  spec.fds = {{abi::kFdControlBlock, res_.control.fd()}, {abi::kFdRingRegion, res_.rings.fd()},
              {abi::kFdCheckpoint, res_.checkpoint.fd()}, {abi::kFdDriverWake, res_.driver_wake.fd()},
              {abi::kFdShimWake, res_.shim_wake.fd()},   {abi::kFdDma, res_.dma.fd()},
              {abi::kFdUioBar, res_.bar.fd()},           {abi::kFdUioIrq, res_.irq.fd()},
              {abi::kFdUioAux, res_.doorbell.fd()}};
  auto child = ChildProcess::spawn(spec);
  if (!child) return child.error();
  driver_ = std::move(child.value());
  return wait_driver_running(std::chrono::seconds(10));
}

Status DiskDevice::wait_driver_running(std::chrono::milliseconds timeout) {
  const abi::DriverStatus& st = res_.control_block()->status;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto state = static_cast<abi::DriverState>(abi::load_shared(st.state));
    if (state == abi::DriverState::kRunning) return {};
    if (state == abi::DriverState::kFailed) {
      char reason[sizeof st.last_error + 1] = {};
      std::memcpy(reason, st.last_error, sizeof st.last_error);  // untrusted: bounded copy
      return plain_error(cfg_.name + ": driver failed to bring the device up: " + reason);
    }
    if (auto status = driver_.try_reap())
      return plain_error(cfg_.name + ": driver " + ChildProcess::describe_status(*status) + " during start-up");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return plain_error(cfg_.name + ": driver did not report running within " + std::to_string(timeout.count()) +
                     " ms");
}

Status DiskDevice::start_colocated_driver() {
  auto bar = dup_fd(res_.bar.fd(), "BAR");
  auto dma = dup_fd(res_.dma.fd(), "DMA");
  auto irq = dup_fd(res_.irq.fd(), "irq");
  auto db = dup_fd(res_.doorbell.fd(), "doorbell");
  for (auto* r : {&bar, &dma, &irq, &db})
    if (!*r) return r->error();
  auto uio = uio::EmulatedUio::attach(std::move(bar.value()), std::move(dma.value()), std::move(irq.value()),
                                      std::move(db.value()));
  if (!uio) return uio.error();
  colocated_uio_ = std::move(uio.value());
  auto driver = drivers::NvmeDriver::create(*colocated_uio_, res_.control_block()->config, res_.control_block(),
                                         res_.checkpoint.as<abi::CheckpointRegion>());
  if (!driver) return driver.error();
  colocated_driver_ = std::move(driver.value());
  auto up = colocated_driver_->bring_up();
  if (!up) return Error{up.error().code, cfg_.name + ": colocated driver: " + up.error().message};
  return {};
}

std::vector<int> DiskDevice::pidfds() const {
  std::vector<int> fds;
  if (model_.running()) fds.push_back(model_.pidfd());
  if (driver_.running()) fds.push_back(driver_.pidfd());
  return fds;
}

bool DiskDevice::on_child_exit(int pidfd) {
  for (ChildProcess* c : {&model_, &driver_}) {
    if (c->pidfd() != pidfd) continue;
    if (auto status = c->try_reap()) {
      spdlog::error("{}: {} (pid {}) {}", cfg_.name, c->role(), c->pid(), ChildProcess::describe_status(*status));
      failed_ = true;
    }
  }
  if (failed_ && !shim_stopped_) {
    // No restart engine yet: rather than hold requests forever, the device is
    // failed — open and new requests complete with an I/O error at once.
    spdlog::error("{}: device FAILED: open and new requests complete with EIO", cfg_.name);
    shim_->stop();
    shim_stopped_ = true;
  }
  return !failed_;
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
  return fmt::format(
      "{}: {} | reads {} ({}, {:.1f} MiB/s) writes {} ({}, {:.1f} MiB/s) flushes {} | open {} in flight {} | "
      "errors {} violations {} | driver heartbeat {} irqs {}",
      cfg_.name, failed_ ? "FAILED" : "serving", s.reads.load(), mib(rb), rrate, s.writes.load(), mib(wb), wrate,
      s.flushes.load(), s.requests_open.load(), s.descriptors_in_flight.load(), s.errors.load(),
      s.protocol_violations.load(), abi::load_shared(ds.heartbeat), abi::load_shared(ds.interrupts));
}

void DiskDevice::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Frontends first: no new requests. Then let what was accepted finish.
  if (fuse_) fuse_->stop();
  if (nbd_) nbd_->stop();
  if (shim_ && !shim_->drain(std::chrono::seconds(5)))
    spdlog::warn("{}: requests still open after 5 s; failing them", cfg_.name);
  if (shim_) shim_->stop();
  if (driver_.running()) driver_.terminate(std::chrono::seconds(2));
  colocated_driver_.reset();
  colocated_uio_.reset();
  if (model_.running()) model_.terminate(std::chrono::seconds(5));
  spdlog::info("{}: stopped", cfg_.name);
}

DiskDevice::DiskDevice(DiskDeviceConfig cfg) : cfg_(std::move(cfg)) {}

DiskDevice::~DiskDevice() { stop(); }

}  // namespace uldd::supervisor
