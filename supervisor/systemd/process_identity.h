// ProcessIdentity: a process named by pid AND start time, so that a pid
// recorded by a supervisor that has since died is not taken for whatever
// process got that pid later. The start time is field 22 of /proc/<pid>/stat
// (clock ticks since boot): a process that got a recycled pid started after
// the one recorded did, so the two differ in start time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd::supervisor::systemd {

struct ProcessIdentity {
  pid_t pid = -1;
  uint64_t start_ticks = 0;  // /proc/<pid>/stat field 22

  // The identity of a live process; nullopt when it does not exist.
  static std::optional<ProcessIdentity> of(pid_t pid);
};

// A pidfd for the recorded process, or nullopt when it is gone or its pid
// now belongs to another process (start time differs). The start time is
// read again after pidfd_open: the pidfd then names the very process checked.
std::optional<UniqueFd> open_if_same_process(const ProcessIdentity& recorded);

}  // namespace uldd::supervisor::systemd
