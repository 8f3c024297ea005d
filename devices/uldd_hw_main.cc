// uldd-hw: the device model process. It plays the hardware behind an emulated
// UIO device: the supervisor creates BAR0, the DMA region and two eventfds and
// hands them over at fixed fd numbers (devices/device_model_fds.h); the model
// waits for doorbell kicks, runs the controller and signals the IRQ eventfd.
// It is not restarted with the driver, so register state, queues and in-flight
// commands outlive a driver crash as they would on a real card.
//
//   uldd-hw nvme --backing PATH --size BYTES [--latency-us N] [--max-iops N] [--serial S]
//                [--block-size 512|4096] [--lifeline-fd N] [--fault-fd 9]
//   uldd-hw e1000 --mac 52:54:00:12:34:56 (--wire-tap NAME [--wire-netns NS] | --wire-fd)
//                 [--itr-check] [--lifeline-fd N] [--fault-fd 9]
//
// Device faults (--fault-fd N): the supervisor's DeviceFaultRegion
// (abi/device_fault.h); the model reads its slots once per loop iteration and
// wakes at least every kDeviceFaultPollInterval to do so.
//
// Power-on: the supervisor polls a register until the model has set it up
// last: NVMe VS = 1.4, e1000 STATUS != 0 (see devices/e1000/e1000_model.h).
//
// Lifeline (--lifeline-fd N): the read end of a pipe whose write ends the
// supervisor holds, and keeps in the service manager's fd store. The model
// does not die with the supervisor (a restarted one reattaches to it,
// docs/fd-store.md); it powers off when every write end is closed (POLLHUP):
// the supervisor is gone and nobody keeps its fds.
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "abi/device_fault.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"
#include "devices/device_fault_reader.h"
#include "devices/device_model_fds.h"
#include "devices/e1000/e1000_model.h"
#include "devices/e1000/e1000_model_loop.h"
#include "devices/e1000/fd_wire.h"
#include "devices/e1000/tap_wire.h"
#include "devices/nvme/file_backing_store.h"
#include "devices/nvme/nvme_controller.h"

namespace {

using uldd::Status;
using uldd::nvme::NvmeController;

struct E1000Options {
  std::string mac = "52:54:00:12:34:56";
  std::string wire_tap;
  std::string wire_netns;
  int lifeline_fd = -1;
  bool wire_fd = false;
  bool itr_check = false;
  int fault_fd = -1;
};

struct NvmeOptions {
  std::string backing;
  uint64_t size = 0;
  uint64_t latency_us = 0;
  uint32_t max_iops = 0;
  std::string serial = "ULDD0001";
  uint32_t block_size = 512;
  int lifeline_fd = -1;
  int fault_fd = -1;
};

// The device fault region at `fd` (-1: none), checked for its header and the
// model it was made for.
uldd::Result<uldd::SharedMemory> attach_faults(int fd, uint32_t model) {
  if (fd < 0) return uldd::SharedMemory{};
  auto m = uldd::SharedMemory::attach(uldd::UniqueFd(fd), sizeof(uldd::abi::DeviceFaultRegion),
                                      "device fault region (fd " + std::to_string(fd) + ")");
  if (!m) return m.error();
  const auto* r = m->as<uldd::abi::DeviceFaultRegion>();
  if (r->magic != uldd::abi::kDeviceFaultMagic || r->version != uldd::abi::kDeviceFaultVersion ||
      r->device_model != model)
    return uldd::plain_error("fd " + std::to_string(fd) +
                             " is not a device fault region of this version for this model");
  return m;
}

// Blocks SIGTERM/SIGINT and returns a signalfd for them, so a signal is just
// another event in the loop and cannot be lost between two polls.
uldd::Result<uldd::UniqueFd> termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return uldd::errno_error("sigprocmask");
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return uldd::errno_error("signalfd");
  return uldd::UniqueFd(fd);
}

Status run_nvme(const NvmeOptions& opt) {
  auto bar =
      uldd::SharedMemory::attach(uldd::UniqueFd(uldd::hw::kModelFdBar), 0x2000, "BAR0 (fd 3)");
  if (!bar) return bar.error();
  auto dma =
      uldd::SharedMemory::attach(uldd::UniqueFd(uldd::hw::kModelFdDma), 4096, "DMA region (fd 4)");
  if (!dma) return dma.error();
  uldd::EventFd irq = uldd::EventFd::adopt(uldd::UniqueFd(uldd::hw::kModelFdIrq));
  uldd::EventFd doorbell = uldd::EventFd::adopt(uldd::UniqueFd(uldd::hw::kModelFdDoorbell));

  auto faults = attach_faults(opt.fault_fd, uldd::abi::kDeviceModelNvme);
  if (!faults) return faults.error();
  auto store = uldd::nvme::FileBackingStore::open(opt.backing, opt.size);
  if (!store) return store.error();
  auto signals = termination_signals();
  if (!signals) return signals.error();

  uldd::nvme::NvmeControllerConfig config;
  config.serial = opt.serial;
  config.lba_shift = opt.block_size == 4096 ? 12 : 9;
  config.io_latency = std::chrono::microseconds(opt.latency_us);
  config.max_iops = opt.max_iops;
  if (opt.fault_fd >= 0) config.device_faults = faults->as<uldd::abi::DeviceFaultRegion>();
  auto controller = NvmeController::create(
      bar->bytes(), dma->bytes(), **store, [&irq](uint32_t) { irq.signal(); }, config);
  if (!controller) return controller.error();
  NvmeController& ctrl = **controller;

  spdlog::info(
      "uldd-hw: nvme device, {} bytes ({} blocks of {}), backing file {}, latency {} us, max IOPS "
      "{}, "
      "DMA region {} bytes",
      opt.size, ctrl.namespace_blocks(), opt.block_size, opt.backing, opt.latency_us,
      opt.max_iops == 0 ? std::string("unlimited") : std::to_string(opt.max_iops), dma->size());

  // A negative fd is ignored by ppoll: without a lifeline, two entries.
  pollfd fds[3] = {
      {doorbell.fd(), POLLIN, 0}, {signals->get(), POLLIN, 0}, {opt.lifeline_fd, 0, 0}};
  uint32_t last_csts = ctrl.csts();
  for (;;) {
    NvmeController::TimePoint deadline;
    timespec timeout{};
    timespec* timeout_ptr = nullptr;  // no timed work: sleep until a kick
    bool timed = ctrl.next_deadline(&deadline);
    if (opt.fault_fd >= 0) {  // look at the fault slots even when idle
      auto poll_by = NvmeController::Clock::now() + uldd::hw::kDeviceFaultPollInterval;
      if (!timed || poll_by < deadline) deadline = poll_by;
      timed = true;
    }
    if (timed) {
      auto wait = deadline - NvmeController::Clock::now();
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      if (ns < 0) ns = 0;
      timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      timeout.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      timeout_ptr = &timeout;
    }
    int r = ::ppoll(fds, 3, timeout_ptr, nullptr);
    if (r < 0 && errno != EINTR) return uldd::errno_error("ppoll");
    if (r > 0 && (fds[1].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      [[maybe_unused]] ssize_t n = ::read(signals->get(), &info, sizeof info);
      spdlog::info("uldd-hw: signal {}, flushing and exiting", info.ssi_signo);
      break;
    }
    if (r > 0 && (fds[2].revents & (POLLHUP | POLLERR)) != 0) {
      spdlog::info(
          "uldd-hw: lifeline closed (supervisor gone, its fds not kept): flushing and exiting");
      break;
    }
    if (r > 0 && (fds[0].revents & POLLIN) != 0) doorbell.drain();
    ctrl.poll(NvmeController::Clock::now());
    if (uint32_t csts = ctrl.csts(); csts != last_csts) {
      if (ctrl.fatal() && (last_csts & uldd::nvme::csts::kFatal) == 0)
        spdlog::warn("uldd-hw: controller fatal status: {}", ctrl.fatal_reason());
      spdlog::debug("uldd-hw: CSTS {:#x} -> {:#x}", last_csts, csts);
      last_csts = csts;
    }
  }
  if (Status s = ctrl.flush(); !s.ok()) return s;
  const auto& st = ctrl.stats();
  spdlog::info("uldd-hw: exit after {} commands ({} errors), {} interrupts", st.commands, st.errors,
               st.interrupts);
  return {};
}

Status run_e1000(const E1000Options& opt) {
  auto mac = uldd::e1000::MacAddress::parse(opt.mac);
  if (!mac)
    return uldd::plain_error("--mac '" + opt.mac + "' is not six hex pairs like 52:54:00:12:34:56");
  auto bar = uldd::SharedMemory::attach(uldd::UniqueFd(uldd::hw::kModelFdBar),
                                        uldd::e1000::kBarSize, "BAR0 (fd 3)");
  if (!bar) return bar.error();
  auto dma =
      uldd::SharedMemory::attach(uldd::UniqueFd(uldd::hw::kModelFdDma), 4096, "DMA region (fd 4)");
  if (!dma) return dma.error();
  uldd::EventFd irq = uldd::EventFd::adopt(uldd::UniqueFd(uldd::hw::kModelFdIrq));
  uldd::EventFd doorbell = uldd::EventFd::adopt(uldd::UniqueFd(uldd::hw::kModelFdDoorbell));

  uldd::UniqueFd wire_fd;
  if (opt.wire_fd) {
    wire_fd = uldd::UniqueFd(uldd::hw::kModelFdWire);
  } else {
    auto tap = uldd::e1000::open_tap_wire(opt.wire_tap, opt.wire_netns);
    if (!tap) return tap.error();
    wire_fd = std::move(tap.value());
  }
  auto wire = uldd::e1000::FdWire::adopt(std::move(wire_fd));
  if (!wire) return wire.error();
  auto signals = termination_signals();
  if (!signals) return signals.error();
  auto faults = attach_faults(opt.fault_fd, uldd::abi::kDeviceModelE1000);
  if (!faults) return faults.error();

  uldd::e1000::E1000ModelConfig config;
  config.mac = *mac;
  if (opt.fault_fd >= 0) config.device_faults = faults->as<uldd::abi::DeviceFaultRegion>();
  auto model = uldd::e1000::E1000Model::create(
      bar->bytes(), dma->bytes(), *wire, [&irq] { irq.signal(); }, config);
  if (!model) return model.error();
  spdlog::info("uldd-hw: e1000 (82540EM) device, MAC {}, wire {}{}, DMA region {} bytes",
               mac->to_string(), opt.wire_fd ? std::string("fd 7") : "TAP " + opt.wire_tap,
               opt.wire_netns.empty() ? std::string() : " in netns " + opt.wire_netns, dma->size());
  uldd::e1000::E1000LoopOptions loop;
  loop.itr_check = opt.itr_check;
  loop.lifeline_fd = opt.lifeline_fd;
  if (opt.fault_fd >= 0) loop.fault_poll = uldd::hw::kDeviceFaultPollInterval;
  return uldd::e1000::run_e1000_loop(**model, doorbell, *wire, signals->get(), loop);
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("uldd-hw"));
  CLI::App app{"uldd-hw: emulated device (the hardware behind an emulated UIO device)"};
  app.require_subcommand(1);
  NvmeOptions nvme;
  CLI::App* nvme_cmd = app.add_subcommand("nvme", "NVMe 1.4 controller with one namespace");
  nvme_cmd->add_option("--backing", nvme.backing, "media file (created sparse if missing)")
      ->required();
  nvme_cmd->add_option("--size", nvme.size, "namespace size in bytes")
      ->required()
      ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 50));
  nvme_cmd->add_option("--latency-us", nvme.latency_us, "added latency per I/O command")
      ->check(CLI::Range(uint64_t{0}, uint64_t{10'000'000}));
  nvme_cmd
      ->add_option("--max-iops", nvme.max_iops, "I/O completions per second at most (0: no limit)")
      ->check(CLI::Range(uint32_t{0}, uint32_t{10'000'000}));
  nvme_cmd->add_option("--serial", nvme.serial, "serial number (Identify Controller SN)");
  nvme_cmd->add_option("--lifeline-fd", nvme.lifeline_fd,
                       "read end of the supervisor's lifeline pipe: exit when it hangs up");
  nvme_cmd->add_option("--fault-fd", nvme.fault_fd,
                       "the supervisor's device fault region (abi/device_fault.h)");
  nvme_cmd->add_option("--block-size", nvme.block_size, "logical block size")
      ->check(CLI::IsMember({512, 4096}));
  E1000Options e1000;
  CLI::App* e1000_cmd = app.add_subcommand("e1000", "Intel 82540EM gigabit Ethernet controller");
  e1000_cmd->add_option("--mac", e1000.mac, "station address (EEPROM words 0..2)");
  auto* tap_opt = e1000_cmd->add_option("--wire-tap", e1000.wire_tap,
                                        "TAP device the model creates as its wire");
  e1000_cmd
      ->add_option("--wire-netns", e1000.wire_netns,
                   "network namespace (/run/netns/NS) for the TAP")
      ->needs(tap_opt);
  auto* fd_opt =
      e1000_cmd->add_flag("--wire-fd", e1000.wire_fd, "the wire is already open as fd 7");
  tap_opt->excludes(fd_opt);
  e1000_cmd->add_option("--lifeline-fd", e1000.lifeline_fd,
                        "read end of the supervisor's lifeline pipe: exit when it hangs up");
  e1000_cmd->add_option("--fault-fd", e1000.fault_fd,
                        "the supervisor's device fault region (abi/device_fault.h)");
  e1000_cmd->add_flag("--itr-check", e1000.itr_check,
                      "log interrupt hold-off figures (signals, held causes, shortest gap)");
  CLI11_PARSE(app, argc, argv);

  if (e1000_cmd->parsed()) {
    if (e1000.wire_tap.empty() && !e1000.wire_fd) {
      spdlog::error("uldd-hw e1000: give --wire-tap NAME or --wire-fd");
      return 2;
    }
    if (Status s = run_e1000(e1000); !s.ok()) {
      spdlog::error("uldd-hw: {}", s.error().describe());
      return 1;
    }
    return 0;
  }
  if (nvme.size % nvme.block_size != 0) {
    spdlog::error("uldd-hw: --size {} is not a multiple of the block size {}", nvme.size,
                  nvme.block_size);
    return 2;
  }
  if (Status s = run_nvme(nvme); !s.ok()) {
    spdlog::error("uldd-hw: {}", s.error().describe());
    return 1;
  }
  return 0;
}
