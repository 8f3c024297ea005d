// The event loop of `uldd-hw e1000`: sleeps in ppoll() on the doorbell
// eventfd, the wire, the termination signalfd and (only while an interrupt is
// held off by ITR) a timeout; never spins. A kick applies the logged register
// writes (which runs TX); a readable wire runs RX; a passed deadline raises the
// held interrupt.
#pragma once

#include <chrono>

#include "common/event_fd.h"
#include "common/result.h"
#include "devices/e1000/e1000_model.h"

namespace uldd::e1000 {

struct E1000LoopOptions {
  // Logs interrupt hold-off figures (signals, held causes, shortest gap vs
  // the ITR interval) every report_interval and at exit.
  bool itr_check = false;
  std::chrono::seconds report_interval{5};
  // Read end of the supervisor's lifeline pipe (-1: none): the loop ends
  // when every write end is closed (docs/fd-store.md), as the NVMe model's.
  int lifeline_fd = -1;
  // With a device fault region: wake at least this often (0: only for work),
  // so an arming takes effect on an idle device (devices/device_fault_reader.h).
  std::chrono::milliseconds fault_poll{0};
};

// Runs until SIGTERM/SIGINT arrives on `signal_fd` (a signalfd); returns an
// error if polling fails.
Status run_e1000_loop(E1000Model& model, const EventFd& doorbell, Wire& wire, int signal_fd,
                      const E1000LoopOptions& options);

}  // namespace uldd::e1000
