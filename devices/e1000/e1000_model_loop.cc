#include "devices/e1000/e1000_model_loop.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace uldd::e1000 {
namespace {

void report(const E1000Model& model, bool itr_check) {
  const auto& s = model.stats();
  const auto& i = model.interrupt_stats();
  spdlog::info(
      "uldd-hw e1000: tx {} frames {} bytes, rx {} frames {} bytes, missed {}, filtered {}, "
      "bad descriptors tx {} rx {}, dropped: tx wire {} oversize {} ring {}, rx disabled {} "
      "ring {}, interrupts {}",
      s.tx_frames, s.tx_bytes, s.rx_frames, s.rx_bytes, s.rx_missed, s.rx_filtered,
      s.tx_bad_descriptors, s.rx_bad_descriptors, s.tx_wire_errors, s.tx_oversize, s.tx_ring_errors,
      s.rx_disabled, s.rx_ring_errors, i.signalled);
  if (itr_check)
    spdlog::info(
        "uldd-hw e1000: ITR check: {} signals, {} causes held off, shortest gap {} ns "
        "(interval then {} ns)",
        i.signalled, i.held_off, i.min_gap_ns, i.min_gap_interval_ns);
}

}  // namespace

Status run_e1000_loop(E1000Model& model, const EventFd& doorbell, Wire& wire, int signal_fd,
                      const E1000LoopOptions& options) {
  using Clock = E1000Model::Clock;
  // A negative fd is ignored by ppoll: without a lifeline, three entries.
  pollfd fds[4] = {{doorbell.fd(), POLLIN, 0},
                   {wire.fd(), POLLIN, 0},
                   {signal_fd, POLLIN, 0},
                   {options.lifeline_fd, 0, 0}};
  auto next_report = Clock::now() + options.report_interval;
  for (;;) {
    auto now = Clock::now();
    E1000Model::TimePoint deadline = next_report;
    if (E1000Model::TimePoint held; model.next_deadline(&held) && held < deadline) deadline = held;
    if (options.fault_poll.count() > 0 && now + options.fault_poll < deadline)
      deadline = now + options.fault_poll;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
    if (ns < 0) ns = 0;
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                     static_cast<long>(ns % 1'000'000'000)};
    int r = ::ppoll(fds, 4, &timeout, nullptr);
    if (r < 0 && errno != EINTR) return errno_error("ppoll");
    now = Clock::now();
    if (r > 0 && (fds[2].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      [[maybe_unused]] ssize_t n = ::read(signal_fd, &info, sizeof info);
      spdlog::info("uldd-hw e1000: signal {}, exiting", info.ssi_signo);
      break;
    }
    if (r > 0 && (fds[3].revents & (POLLHUP | POLLERR)) != 0) {
      spdlog::info("uldd-hw e1000: lifeline closed (supervisor gone, its fds not kept): exiting");
      break;
    }
    if (r > 0 && (fds[0].revents & POLLIN) != 0) doorbell.drain();
    // Writes first (a new RDT may make room for the frames waiting), then RX.
    model.apply_writes(now);
    if (r > 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      if ((fds[1].revents & (POLLERR | POLLHUP)) != 0 && (fds[1].revents & POLLIN) == 0)
        return plain_error("the wire hung up");
      model.on_wire_readable(now);
    }
    model.poll_timers(now);
    if (now >= next_report) {
      if (options.itr_check) report(model, true);
      next_report = now + options.report_interval;
    }
  }
  report(model, options.itr_check);
  return {};
}

}  // namespace uldd::e1000
