#include "supervisor/nic_device.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "abi/driver_fds.h"
#include "devices/device_model_fds.h"
#include "devices/e1000/e1000_spec.h"
#include "drivers/e1000/e1000_driver.h"
#include "shim/direct_net_driver_port.h"
#include "shim/frontends/tap_frontend.h"
#include "shim/net_shim.h"
#include "shim/ring_net_driver_port.h"
#include "supervisor/colocated_uio.h"
#include "supervisor/device_fd_set.h"
#include "supervisor/driver_sandbox.h"
#include "uio/emulated_uio.h"
#include "uio/mmio_sideband.h"

namespace uldd::supervisor {
namespace {

std::string mib(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", bytes / 1048576.0);
}

}  // namespace

Result<std::unique_ptr<NicDevice>> NicDevice::start(const NicDeviceConfig& cfg,
                                                    const SupervisorConfig& sup,
                                                    const std::filesystem::path& bin_dir,
                                                    const policies::RestartPolicy& policy,
                                                    DeviceHandover handover) {
  const std::optional<KernelUioTarget> kernel = parse_kernel_uio(cfg.uio);
  std::unique_ptr<NicDevice> dev(
      new NicDevice(cfg, sup.runtime_dir / (cfg.name + ".stats"), bin_dir, sup.driver_user));
  dev->handover_ = handover;
  // A real device is opened afresh by every supervisor (DiskDevice::start).
  ULDD_TRY(dev->acquire_resources(kernel ? nullptr : handover.inventory));  // fd store or new
  // The engine's hang detection needs beats at least as often as the policy
  // says; a NIC configured to beat more often keeps its own interval.
  uint32_t& beat_us = dev->res_.control_block()->config.heartbeat_interval_us;
  beat_us = std::min<uint32_t>(
      beat_us, static_cast<uint32_t>(std::chrono::microseconds(policy.heartbeat_interval).count()));

  // The TAP first: a name clash or a missing netns is the likeliest mistake,
  // and it is reported before any process exists.
  ULDD_TRY(dev->open_tap());

  if (kernel) {
    auto k = KernelDeviceFiles::open_replacing_dma(cfg.name, *kernel, dev->res_.dma);
    if (!k) return k.error();
    dev->kernel_ = std::move(k.value());
    // A descriptor ring must be contiguous in bus-address space: without
    // huge pages one ring fits one 4 KiB page (256 descriptors of 16 bytes).
    uint32_t ring = std::max(cfg.tx_descriptors, cfg.rx_descriptors);
    if (!dev->kernel_->pinned_dma().hugetlb() && ring * 16u > 4096u)
      return plain_error(cfg.name + ": " + std::to_string(ring) + " descriptors need " +
                         std::to_string(ring * 16u) +
                         " contiguous bytes per ring, but the DMA region has no huge pages "
                         "(4 KiB pages): reserve huge pages (vm.nr_hugepages) or use <= 256 "
                         "descriptors");
  } else {
    ULDD_TRY(dev->adopted_ ? dev->bring_up_adopted_model() : dev->start_model());
  }
  if (dev->adopted_) dev->kill_previous_driver();  // the successor starts cold, below
  if (cfg.mode == DriverMode::kIsolated) {
    // Seeded by the name, like a disk's: the same jitter run after run.
    DriverHost& host = *dev;
    dev->engine_ =
        std::make_unique<RestartEngine>(host, policy, std::hash<std::string>{}(cfg.name));
    ULDD_TRY(dev->engine_->start());
  } else {
    ULDD_TRY(dev->start_colocated_driver());
  }

  shim::NetShimOptions so;
  so.device_name = cfg.name;
  so.buffer_area = dev->res_.dma.data() + dev->res_.buffer_area_offset();
  so.buffer_area_iova = dev->res_.buffer_area_offset();
  so.buffer_count = cfg.buffers;
  // Half the buffers at most wait in the device for frames; the rest carry TX.
  so.rx_buffers = std::min({cfg.ring_capacity, cfg.rx_descriptors, cfg.buffers / 2});
  so.frame_fd = dev->tap_->fd();
  NicDevice* raw = dev.get();
  // A driver that breaks the protocol is a faulty driver: the engine kills
  // and restarts it like a crashed one. (Colocated: nothing to kill; the
  // violation stays counted and logged.)
  so.on_driver_fault = [raw](const std::string& reason) {
    if (raw->engine_) raw->engine_->report_fault(reason);
  };
  // A TX frame the driver keeps without returning it (policy request_timeout,
  // the netdev watchdog's job): killed as hung and restarted cold.
  if (dev->engine_) so.tx_timeout = dev->engine_->policy().request_timeout;
  so.on_tx_timeout = [raw](const std::string& reason) {
    if (raw->engine_) raw->engine_->report_stuck_request(reason);
  };
  // The RX watch reads the model's RDH from the BAR the supervisor maps (a
  // kernel device's BAR is only the driver's: no RX watch there).
  if (cfg.mode == DriverMode::kIsolated && !dev->kernel_)
    so.rx_device_head = [raw] { return uio::load_register(raw->res_.bar.data(), e1000::kRegRdh); };
  std::unique_ptr<shim::NetDriverPort> port;
  if (cfg.mode == DriverMode::kIsolated) {
    port = std::make_unique<shim::RingNetDriverPort>(dev->res_.ring_view, dev->res_.driver_wake,
                                                     dev->res_.shim_wake);
  } else {
    port =
        std::make_unique<shim::DirectNetDriverPort<drivers::E1000Driver>>(*dev->colocated_driver_);
  }
  dev->shim_ = std::make_unique<shim::NetShim>(so, std::move(port));
  ULDD_TRY(dev->shim_->start());
  dev->record_processes();
  if (!dev->kernel_) ULDD_TRY(dev->publish_fds());
  dev->write_stats_file();
  spdlog::info("{}: up: e1000 {}, driver {} {}, policy '{}', TAP {}{}, wire {}{}", cfg.name,
               cfg.mac, cfg.mode == DriverMode::kIsolated ? "process" : "colocated",
               cfg.mode == DriverMode::kIsolated ? "pid " + std::to_string(dev->driver_pid())
                                                 : "in supervisor",
               cfg.mode == DriverMode::kIsolated ? policy.name : "none (colocated)", cfg.tap,
               cfg.tap_netns.empty() ? "" : " (netns " + cfg.tap_netns + ")",
               dev->kernel_ ? "kernel UIO " + dev->kernel_->describe() : cfg.wire_tap,
               cfg.wire_netns.empty() || dev->kernel_ ? "" : " (netns " + cfg.wire_netns + ")");
  return dev;
}

Status NicDevice::start_model() {
  SpawnSpec spec;
  spec.executable = bin_dir_ / "uldd-hw";
  spec.role = cfg_.name + " device model";
  spec.args = {"e1000", "--mac", cfg_.mac, "--wire-tap", cfg_.wire_tap};
  if (!cfg_.wire_netns.empty()) {
    spec.args.push_back("--wire-netns");
    spec.args.push_back(cfg_.wire_netns);
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
  // Power-on: the model publishes its MMIO side band (register semantics) and
  // then a non-zero STATUS; a driver started earlier would bypass the side band.
  const auto* magic =
      reinterpret_cast<const uint64_t*>(res_.bar.data() + uio::sideband_offset(res_.bar.size()));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (abi::load_shared(*magic) != uio::kSidebandMagic ||
         uio::load_register(res_.bar.data(), e1000::kRegStatus) == 0) {
    if (auto status = model_.try_reap())
      return plain_error(cfg_.name + ": device model " + ChildProcess::describe_status(*status) +
                         " during start-up");
    if (std::chrono::steady_clock::now() > deadline)
      return plain_error(cfg_.name + ": device model did not power on within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

SpawnSpec NicDevice::driver_spawn_spec(bool standby, int release_fd) {
  SpawnSpec spec;
  spec.executable = cfg_.driver.empty() ? bin_dir_ / "uldd-e1000-driver" : cfg_.driver;
  spec.role = cfg_.name + (standby ? " standby driver" : " driver");
  spec.args = {kernel_ ? "--uio=kernel" : "--uio=emulated", "--device", cfg_.name};
  if (standby) spec.args.push_back("--standby");
  spec.user = driver_user_;
  spec.fds = driver_spawn_fds(res_, kernel_.get(), standby, release_fd);
  // As DiskDevice's: the seccomp allow-list and the current policy's [limits].
  spec.sandbox = sandbox_for(engine_ ? engine_->policy().limits : policies::ResourceLimits{});
  return spec;
}

void NicDevice::hold_requests() {
  if (shim_) shim_->hold();
}

Result<uint32_t> NicDevice::prepare_successor(Resend how) {
  if (!shim_) return uint32_t{0};  // first start: nothing handed out yet
  // Warm (kAdopt): every buffer the dead driver held is resent flagged for
  // adoption and nothing is quarantined; the count is the launch's
  // adopt_count. If the successor refuses (exit 6) the engine calls again
  // for cold, and the shim keeps the buffers' order and ownership across the
  // two calls. Cold: TX frames follow the policy's nic_tx_inflight
  // (reissue | drop); its disk-side `inflight` does not apply to frames.
  if (how == Resend::kAdopt) return shim_->restart(shim::TxResendMode::kAdopt);
  bool drop = engine_ && engine_->policy().nic_tx_inflight == policies::TxInflightAction::kDrop;
  return shim_->restart(drop ? shim::TxResendMode::kDrop : shim::TxResendMode::kReissue);
}

int64_t NicDevice::first_completion_ns() const {
  return shim_ ? shim_->stats().first_completion_after_restart_ns.load(std::memory_order_acquire)
               : 0;
}

void NicDevice::fail_device(const std::string& reason) {
  fail(reason);
}

Status NicDevice::start_colocated_driver() {
  auto uio = kernel_ ? open_kernel_device(*kernel_, res_.dma.fd()) : open_emulated_device(res_);
  if (!uio) return Error{uio.error().code, cfg_.name + ": " + uio.error().message};
  colocated_uio_ = std::move(uio.value());
  auto driver = drivers::E1000Driver::create(*colocated_uio_, res_.control_block()->config,
                                             res_.control_block(),
                                             res_.checkpoint.as<abi::CheckpointRegion>());
  if (!driver)
    return Error{driver.error().code, cfg_.name + ": colocated driver: " + driver.error().message};
  colocated_driver_ = std::move(driver.value());
  auto up = colocated_driver_->bring_up();
  if (!up) return Error{up.error().code, cfg_.name + ": colocated driver: " + up.error().message};
  return {};
}

std::vector<int> NicDevice::watched_fds() const {
  std::vector<int> fds;
  if (model_.running()) fds.push_back(model_.pidfd());
  if (engine_) {
    auto e = engine_->watched_fds();
    fds.insert(fds.end(), e.begin(), e.end());
  }
  return fds;
}

void NicDevice::on_fd_ready(int fd) {
  if (model_.running() && fd == model_.pidfd()) {
    if (auto status = model_.try_reap()) {
      // The hardware is gone: no driver can help.
      spdlog::error("{}: device model (pid {}) {}", cfg_.name, model_.pid(),
                    ChildProcess::describe_status(*status));
      if (engine_) engine_->stop();
      fail("device model " + ChildProcess::describe_status(*status));
    }
    return;
  }
  if (engine_) engine_->on_fd_ready(fd);
}

void NicDevice::tick() {
  if (stopped_) return;
  record_processes();
  if (!engine_) return;
  engine_->tick();
  // A cold successor that reports running has reset the e1000 (bring_up,
  // CTRL.RST): the dead driver's descriptors are gone from the device, so
  // the buffers they named may be used again. (A warm successor adopts the
  // device's descriptors instead: nothing was quarantined for it, and what
  // an earlier cold attempt quarantined waits for the next cold start.)
  uint64_t cold = engine_->counters().restarts_cold;
  if (cold != quarantine_released_for_ && shim_ && !failed_) {
    quarantine_released_for_ = cold;
    shim_->release_quarantine();
  }
}

std::chrono::steady_clock::time_point NicDevice::next_deadline() const {
  if (engine_ && !stopped_) return engine_->next_deadline();
  return std::chrono::steady_clock::now() + std::chrono::seconds(1);
}

void NicDevice::set_policy(const policies::RestartPolicy& policy) {
  if (!engine_) return;
  engine_->set_policy(policy);
  if (shim_) shim_->set_tx_timeout(policy.request_timeout);
}

void NicDevice::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  // Stop serving: the TAP is no longer read (the kernel queues, then drops,
  // like a NIC with a dead ring) and loses carrier, so the host stack sees
  // the link down rather than a black hole, and nothing waits on us.
  spdlog::error("{}: device FAILED ({}): TAP {} no carrier, traffic stopped", cfg_.name, why,
                cfg_.tap);
  if (shim_) shim_->stop();
  if (tap_) {
    if (auto s = tap_->set_carrier(false); !s)
      spdlog::warn("{}: {}", cfg_.name, s.error().describe());
  }
}

std::string NicDevice::status_line(std::chrono::steady_clock::duration since_last) {
  const auto& s = shim_->stats();
  uint64_t txb = s.tx_bytes.load(), rxb = s.rx_bytes.load();
  double secs = std::chrono::duration<double>(since_last).count();
  double tx_rate = secs > 0 ? (txb - last_tx_bytes_) * 8 / secs / 1e6 : 0;
  double rx_rate = secs > 0 ? (rxb - last_rx_bytes_) * 8 / secs / 1e6 : 0;
  last_tx_bytes_ = txb;
  last_rx_bytes_ = rxb;
  write_stats_file();
  const auto& ds = res_.control_block()->status;
  std::string driver = "colocated";
  if (engine_) {
    const RecoveryCounters& rc = engine_->counters();
    driver = fmt::format("pid {} restarts {} warm / {} cold (tx reissued {} dropped {})",
                         engine_->driver_pid(), rc.restarts_warm, rc.restarts_cold,
                         s.tx_reissued.load(), s.tx_dropped_on_restart.load());
  }
  return fmt::format(
      "{}: {} | driver {} | tx {} frames ({}, {:.1f} Mb/s) rx {} frames ({}, {:.1f} Mb/s) | drops "
      "rx {} tx-err {} rx-err {} | held tx {} rx {} | backpressure {} violations {} | driver "
      "heartbeat {} irqs {}",
      cfg_.name, state_name(), driver, s.tx_frames.load(), mib(txb), tx_rate, s.rx_frames.load(),
      mib(rxb), rx_rate, s.rx_dropped.load(), s.tx_errors.load(), s.rx_errors.load(),
      s.tx_posted.load(), s.rx_posted.load(), s.backpressure.load(), s.violations.load(),
      abi::load_shared(ds.heartbeat), abi::load_shared(ds.interrupts));
}

std::string NicDevice::state_name() const {
  if (failed_) return "FAILED";
  return shim_ && shim_->held() ? "RECOVERING" : "serving";
}

void NicDevice::write_stats_file() {
  const auto& s = shim_->stats();
  const auto& ds = res_.control_block()->status;
  RecoveryCounters rc = engine_ ? engine_->counters() : RecoveryCounters{};
  std::filesystem::path tmp = stats_path_;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return;
    out << "sequence=" << ++stats_sequence_ << "\n"
        << "state=" << (failed_ ? "failed" : (shim_->held() ? "recovering" : "serving")) << "\n"
        << "driver_pid=" << driver_pid() << "\n"
        << "restarts_warm=" << rc.restarts_warm << "\nrestarts_cold=" << rc.restarts_cold << "\n"
        << "warm_refused=" << rc.warm_refused << "\ncrashes=" << rc.crashes << "\n"
        << "hangs=" << rc.hangs << "\ndriver_violations=" << rc.violations << "\n"
        << "last_downtime_us=" << rc.last_downtime.count() << "\n"
        << "tx_reissued=" << s.tx_reissued.load() << "\n"
        << "tx_dropped_on_restart=" << s.tx_dropped_on_restart.load() << "\n"
        << "rx_reclaimed_on_restart=" << s.rx_reclaimed_on_restart.load() << "\n"
        << "resent_for_adoption=" << s.resent_for_adoption.load() << "\n"
        << "quarantined=" << s.quarantined.load() << "\n"
        << "tx_frames=" << s.tx_frames.load() << "\ntx_bytes=" << s.tx_bytes.load() << "\n"
        << "rx_frames=" << s.rx_frames.load() << "\nrx_bytes=" << s.rx_bytes.load() << "\n"
        << "rx_dropped=" << s.rx_dropped.load() << "\ntx_errors=" << s.tx_errors.load() << "\n"
        << "rx_errors=" << s.rx_errors.load() << "\nbackpressure=" << s.backpressure.load() << "\n"
        << "violations=" << s.violations.load() << "\n"
        << "driver_heartbeat=" << abi::load_shared(ds.heartbeat) << "\n"
        << "driver_interrupts=" << abi::load_shared(ds.interrupts) << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, stats_path_, ec);
}

void NicDevice::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (shim_) shim_->stop();
  if (engine_) engine_->stop();
  colocated_driver_.reset();
  colocated_uio_.reset();
  if (model_.running()) model_.terminate(std::chrono::seconds(5));
  kernel_.reset();  // bus mastering off, DMA pages unpinned
  // A clean stop: the next start is a fresh one (and the store's copy of the
  // TAP fd goes, so that closing ours below removes the TAP).
  if (handover_.store != nullptr) store_entries_.withdraw(*handover_.store);
  tap_.reset();  // closing the last fd removes a non-persistent TAP
  std::error_code ec;
  std::filesystem::remove(stats_path_, ec);
  spdlog::info("{}: stopped", cfg_.name);
}

NicDevice::NicDevice(NicDeviceConfig cfg, std::filesystem::path stats_path,
                     std::filesystem::path bin_dir, std::string driver_user)
    : cfg_(std::move(cfg)),
      stats_path_(std::move(stats_path)),
      bin_dir_(std::move(bin_dir)),
      driver_user_(std::move(driver_user)) {}

NicDevice::~NicDevice() {
  stop();
}

}  // namespace uldd::supervisor
