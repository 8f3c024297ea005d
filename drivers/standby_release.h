// wait_for_standby_release: how a hot-standby driver process (either kind,
// `--standby`) waits to be promoted. It has mapped and checked its regions
// and writes nothing; it blocks on the release eventfd the supervisor hands
// it as fd 12 (abi::kFdStandbyRelease) until the supervisor signals it
// (promotion: returns true) or a stop signal sets `stop` (returns false).
// `sleep_mask` is the signal mask to sleep with (the stop signals unblocked),
// so a SIGTERM can never fall between the check of `stop` and the sleep.
#pragma once

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "abi/driver_fds.h"
#include "common/unique_fd.h"

namespace uldd::drivers {

inline bool wait_for_standby_release(const std::atomic<bool>& stop, const sigset_t* sleep_mask) {
  UniqueFd release(abi::kFdStandbyRelease);
  spdlog::info("standby: attached, waiting to be promoted");
  for (;;) {
    if (stop.load()) return false;
    pollfd p{release.get(), POLLIN, 0};
    int r = ::ppoll(&p, 1, nullptr, sleep_mask);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      spdlog::critical("standby: ppoll: {}", std::strerror(errno));
      return false;
    }
    uint64_t v;
    if (::read(release.get(), &v, sizeof v) == sizeof v) return true;
  }
}

}  // namespace uldd::drivers
