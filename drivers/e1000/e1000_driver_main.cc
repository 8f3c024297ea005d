// uldd-e1000-driver: the isolated e1000 driver process. The supervisor spawns
// it with exactly the fds of abi/driver_fds.h; it opens no files and needs no
// privileges. It validates every region it is handed, resets and brings the
// NIC up, and serves the shim's four net rings with E1000DriverLoop until
// SIGTERM/SIGINT.
//
//   uldd-e1000-driver --uio=emulated --device NAME [--standby]
//     fd 3 control block, 4 net ring region (abi/net_ring_region.h),
//     5 checkpoint, 6 driver-wake eventfd, 7 shim-wake eventfd, 8 DMA memfd,
//     9 BAR0 memfd, 10 IRQ eventfd, 11 doorbell eventfd (emulated backend),
//     12 standby release eventfd (--standby only)
//   uldd-e1000-driver --uio=kernel ...: a real 8254x bound to
//     uio_pci_generic: fd 9 BAR0 (resource0), 10 /dev/uioN, 11 its PCI config
//     file, 13 the sealed DMA address table (drivers/uio_backend.h)
//
// Cold start (DriverLaunch::resume_mode == kCold): the device is reset and
// the shim reissues what the dead driver held. Warm start (kWarm): the
// running device and the buffers in its rings are adopted from the
// checkpoint (E1000Driver::adopt, e1000_driver_adopt.cc); if anything fails
// to agree the driver exits 6 before writing to the device — the status the
// restart engine reads as "warm resume refused" and answers with a cold
// start at once, whose shim preparation quarantines what the device may
// still hold. A hot standby (--standby)
// maps and checks its regions, then waits on fd 12 writing nothing until
// promoted; only then does it map the device (see run()).
//
// Exit codes (the same as uldd-nvme-driver's):
//   0  stopped by SIGTERM/SIGINT: TX buffers drained (or the drain timeout
//      passed); RX buffers stay posted in the device
//   1  runtime failure: ring protocol violation by the peer, device gone,
//      fd error (DriverStatus: state kFailed, last_error)
//   2  bad command line
//   3  bad environment: a required fd is not open, or a region fails its
//      magic/version/layout/config check
//   4  device bring-up failed (reset, MAC, rings) (DriverStatus: state
//      kFailed, last_error)
//   5  the requested UIO backend is not available in this build
//   6  warm resume refused: the checkpoint, the registers or the resent
//      buffers do not agree (the supervisor falls back to cold)
#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>

#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/driver_fds.h"
#include "abi/net_ring_region.h"
#include "common/shared_memory.h"
#include "drivers/e1000/e1000_dma_layout.h"
#include "drivers/e1000/e1000_driver.h"
#include "drivers/e1000/e1000_driver_loop.h"
#include "drivers/standby_release.h"
#include "drivers/uio_backend.h"
#include "uio/emulated_uio.h"

namespace {

using namespace uldd;

enum ExitCode : int {
  kExitStopped = 0,
  kExitRuntimeFailure = 1,
  kExitUsage = 2,
  kExitEnvironment = 3,
  kExitBringUp = 4,
  kExitBackendUnavailable = 5,
  kExitWarmRefused = 6,
};

std::atomic<bool> g_stop{false};
std::atomic<drivers::E1000DriverLoop*> g_loop{nullptr};

void on_stop_signal(int) {
  g_stop.store(true, std::memory_order_relaxed);
  if (drivers::E1000DriverLoop* loop = g_loop.load(std::memory_order_relaxed)) loop->request_stop();
}

const char* fd_role(int fd) {
  switch (fd) {
    case abi::kFdControlBlock:
      return "control block memfd";
    case abi::kFdRingRegion:
      return "net ring region memfd";
    case abi::kFdCheckpoint:
      return "checkpoint memfd";
    case abi::kFdDriverWake:
      return "driver-wake eventfd";
    case abi::kFdShimWake:
      return "shim-wake eventfd";
    case abi::kFdDma:
      return "DMA memfd";
    case abi::kFdUioBar:
      return "UIO BAR0";
    case abi::kFdUioIrq:
      return "UIO IRQ";
    case abi::kFdUioAux:
      return "UIO aux (doorbell eventfd / PCI config)";
    case abi::kFdStandbyRelease:
      return "standby release eventfd";
    default:
      return "?";
  }
}

void setup_logging(const std::string& device) {
  auto logger = spdlog::stderr_logger_st("uldd-e1000-driver");
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [uldd-e1000-driver " + device + " " +
                      std::to_string(::getpid()) + "] [%l] %v");
  spdlog::set_default_logger(logger);
}

// Everything the process holds for its lifetime.
struct Attached {
  SharedMemory control;
  SharedMemory rings;
  SharedMemory checkpoint;
  UniqueFd driver_wake;
  UniqueFd shim_wake;
  abi::NetRingRegionView ring_view{};
  abi::DriverConfig config{};
};

// Maps fds 3..5 and checks each region; returns "" or what is wrong.
std::string attach_regions(Attached* a) {
  auto cb = SharedMemory::attach(UniqueFd(abi::kFdControlBlock), sizeof(abi::ControlBlock),
                                 "control block");
  if (!cb) return cb.error().describe();
  a->control = std::move(cb.value());
  auto* block = a->control.as<abi::ControlBlock>();
  uint32_t magic = abi::load_shared(block->magic);
  uint32_t version = abi::load_shared(block->version);
  if (magic != abi::kControlBlockMagic) return "control block: bad magic";
  if (version != abi::kAbiVersion)
    return "control block: ABI version " + std::to_string(version) + ", expected " +
           std::to_string(abi::kAbiVersion);
  std::memcpy(&a->config, &block->config, sizeof a->config);  // copied once, then checked

  auto rings = SharedMemory::attach(UniqueFd(abi::kFdRingRegion), sizeof(abi::NetRingRegionHeader),
                                    "net ring region");
  if (!rings) return rings.error().describe();
  a->rings = std::move(rings.value());
  abi::NetRingRegionHeader h;
  std::memcpy(&h, a->rings.data(), sizeof h);
  std::string bad = abi::check_net_ring_region_header(h, a->rings.size());
  if (!bad.empty()) return bad;
  a->ring_view = abi::NetRingRegionView{a->rings.data(), h};

  auto ckpt = SharedMemory::attach(UniqueFd(abi::kFdCheckpoint), sizeof(abi::CheckpointRegion),
                                   "checkpoint region");
  if (!ckpt) return ckpt.error().describe();
  a->checkpoint = std::move(ckpt.value());

  a->driver_wake = UniqueFd(abi::kFdDriverWake);
  a->shim_wake = UniqueFd(abi::kFdShimWake);
  return "";
}

int run(const std::string& backend, const std::string& device, bool standby) {
  setup_logging(device);

  // SIGTERM/SIGINT stay blocked except while the loop sleeps (ppoll), so a
  // stop request can never slip in between the loop's check and its sleep.
  sigset_t stop_signals, sleep_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, &sleep_mask);
  sigdelset(&sleep_mask, SIGTERM);
  sigdelset(&sleep_mask, SIGINT);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  int last_fd = standby ? abi::kFdStandbyRelease : abi::kDriverFdCount - 1;
  for (int fd = abi::kFdControlBlock; fd <= last_fd; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0) {
      spdlog::critical(
          "fd {} ({}) is not open: uldd-e1000-driver must be spawned by uldd-supervisor "
          "with the fds of abi/driver_fds.h",
          fd, fd_role(fd));
      return kExitEnvironment;
    }
  }
  Attached a;
  std::string bad = attach_regions(&a);
  if (!bad.empty()) {
    spdlog::critical("refusing to start: {}", bad);
    return kExitEnvironment;
  }
  auto* cb = a.control.as<abi::ControlBlock>();
  // A standby must not write the control block before it is promoted: the
  // active driver owns DriverStatus until then.
  auto refuse = [&](const std::string& what, int code) {
    spdlog::critical("{}", what);
    if (!standby) abi::record_driver_failure(cb, what);
    return code;
  };
  if (!standby) {
    abi::store_shared(cb->status.pid, static_cast<int32_t>(::getpid()));
    abi::store_shared(cb->status.state, static_cast<uint32_t>(abi::DriverState::kInitializing));
  }

  bad = drivers::check_backend_fds(backend);
  if (!bad.empty()) return refuse("refusing to start: " + bad, kExitEnvironment);
  // A standby maps the device only once promoted: the e1000's emulated BAR
  // carries a posted-write log (uio/mmio_sideband.h) whose tail EmulatedUio
  // copies at attach, and the active driver moves that tail meanwhile.
  if (standby) {
    if (!drivers::wait_for_standby_release(g_stop, &sleep_mask)) return kExitStopped;
    standby = false;
    abi::store_shared(cb->status.pid, static_cast<int32_t>(::getpid()));
    abi::store_shared(cb->status.state, static_cast<uint32_t>(abi::DriverState::kInitializing));
  }
  // Kernel UIO: BAR0, /dev/uioN, config file and the supervisor's address
  // table; the interrupt is unmasked once here.
  auto dev = drivers::open_uio_backend(backend);
  if (!dev) return refuse("refusing to start: " + dev.error().describe(), kExitEnvironment);
  bad = drivers::check_e1000_config(a.config, dev.value()->dma().size());
  if (!bad.empty()) return refuse("refusing to start: " + bad, kExitEnvironment);
  if (Status p = drivers::protect_buffer_area(dev.value()->dma(), a.config.dma_buffer_area_offset);
      !p)
    spdlog::warn("packet buffers stay writable: {}", p.error().describe());

  auto driver = drivers::E1000Driver::create(*dev.value(), a.config, cb,
                                             a.checkpoint.as<abi::CheckpointRegion>());
  if (!driver) return refuse("refusing to start: " + driver.error().describe(), kExitEnvironment);

  // How to start is read once, after a standby's promotion (the supervisor
  // writes it just before).
  abi::DriverLaunch launch;
  std::memcpy(&launch, &cb->launch, sizeof launch);
  bool warm = launch.resume_mode == static_cast<uint32_t>(abi::ResumeMode::kWarm);
  if (!warm && launch.resume_mode != static_cast<uint32_t>(abi::ResumeMode::kCold))
    return refuse("warm resume refused: unknown resume mode " + std::to_string(launch.resume_mode),
                  kExitWarmRefused);
  spdlog::info(
      "backend {}, {} RX / {} TX descriptors, buffers {} B, net rings tx {} rx {}, "
      "driver area {} of {} bytes, {} start #{}",
      dev.value()->backend_name(), a.config.nic_rx_descriptors, a.config.nic_tx_descriptors,
      a.config.max_transfer, a.ring_view.header.tx_capacity, a.ring_view.header.rx_capacity,
      driver.value()->layout().total_size, a.config.dma_driver_area_size, warm ? "warm" : "cold",
      launch.incarnation);
  if (warm) {
    Status adopted = driver.value()->adopt(launch.adopt_count);
    if (!adopted) return refuse(adopted.error().describe(), kExitWarmRefused);
  } else {
    Status up = driver.value()->bring_up();
    if (!up) return refuse("device bring-up failed: " + up.error().describe(), kExitBringUp);
  }

  drivers::E1000DriverLoop::Options opts;
  opts.heartbeat_interval = std::chrono::microseconds(a.config.heartbeat_interval_us);
  opts.sleep_sigmask = &sleep_mask;
  drivers::E1000DriverLoop loop(*driver.value(), a.ring_view, a.driver_wake.get(),
                                a.shim_wake.get(), cb, opts);
  g_loop.store(&loop);
  if (g_stop.load()) loop.request_stop();
  Status s = loop.run();
  g_loop.store(nullptr);
  if (!driver.value()->adoption_status()) return kExitWarmRefused;  // before touching the device
  if (!s) return kExitRuntimeFailure;
  return kExitStopped;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd e1000 driver (isolated mode); spawned by uldd-supervisor"};
  std::string backend;
  std::string device;
  app.add_option("--uio", backend,
                 "UIO backend: emulated (device model uldd-hw) or kernel (/dev/uioN)")
      ->required()
      ->check(CLI::IsMember({"emulated", "kernel"}));
  app.add_option("--device", device, "device name, used in log lines")->required();
  bool standby = false;
  app.add_flag("--standby", standby,
               "hot standby: attach, then wait on fd 12 until promoted by the supervisor");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return run(backend, device, standby);
}
