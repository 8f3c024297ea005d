// SWIFI injection: applies a SwifiFault (faultinject/swifi_fault.h) to a
// running process — in uldd, a driver, from the supervisor (root, so ptrace
// works on the unprivileged, non-dumpable driver) — and says exactly what it
// did, so that a campaign can list the fault, compare the supervisor's
// reaction with the expected one (faultinject/README.md, "SWIFI (ptrace)")
// and replay it from the reported seed and params.
//
// The process is seized and stopped for the injection only: single-stepped
// `at` instructions, altered, then detached running (on every error path
// too: PtraceSession). Text changes go to the process's private copy of the
// page: other processes running the same binary are not affected.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"
#include "faultinject/swifi_fault.h"

namespace uldd::faultinject {

// Most instructions single-stepped looking for a conditional branch
// (swifi-invert-branch), after the `at` steps.
inline constexpr uint32_t kMaxBranchSearchSteps = 10000;  // code branches every few instructions

struct SwifiOutcome {
  std::string fault;  // the type, "swifi-register"
  uint64_t seed = 0;
  uint32_t at = 0;           // steps asked for
  uint32_t steps_done = 0;   // steps executed: fewer when the thread blocked in a
                             // syscall (or raised a signal) first
  uint64_t rip = 0;          // where the fault was applied (after stepping; for
                             // invert-branch: the branch)
  std::string rip_location;  // "0x55..1a2b (uldd-nvme-driver+0x1a2b)"
  // What was hit: register name ("r12"), memory class mapping ("[heap]",
  // "anonymous", ".../uldd-nvme-driver"), or the instruction's mapping.
  std::string target;
  uint64_t address = 0;  // memory faults: the byte flipped; busy-loop: rip
  uint64_t offset = 0;   // memory faults: the byte's offset in its class
  uint32_t bit = 0;      // register and memory faults
  // register: the register; memory: the byte; skip/invert: rip; busy-loop:
  // the two bytes overwritten (little-endian).
  uint64_t old_value = 0;
  uint64_t new_value = 0;
  std::string instruction;  // skip, invert-branch, busy-loop: the instruction at rip
  uint32_t instruction_length = 0;
  uint32_t branch_search_steps = 0;  // invert-branch: steps taken to reach the branch
  bool branch_was_taken = false;     // invert-branch: what the CPU would have done
  std::string description;           // one line for logs and reports

  // The params that replay this choice with parse_swifi_fault (seed, at and
  // the register / bit / offset).
  std::map<std::string, std::string> replay_params() const;
};

// Seizes `pid`, steps, injects, detaches. Errors name the pid and the call:
// ESRCH (no such process, or it exited meanwhile), EPERM (cannot trace it:
// already traced, no CAP_SYS_PTRACE), EINVAL (pid 1 or the caller itself,
// offset beyond the class), ENXIO (no mapping of the class), ETIMEDOUT (did
// not stop), EAGAIN (invert-branch: the thread blocked in a syscall or ran
// kMaxBranchSearchSteps without a conditional branch). The process is left
// running and untraced in every case (a fault may of course make it crash).
Result<SwifiOutcome> inject_swifi_fault(pid_t pid, const SwifiFault& fault);

}  // namespace uldd::faultinject
