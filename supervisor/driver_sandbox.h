// The driver sandbox: what confines an untrusted driver process beyond
// running it as an unprivileged user with no_new_privs and exactly its fds
// (which ChildProcess does for every child).
//
// SandboxSpec says what a driver gets: the seccomp allow-list (always the
// driver list of seccomp_allow_list.cc) and resource limits (from policy).
// SandboxLaunch is one spawn's worth of prepared state. Everything that
// allocates or can fail in an interesting way (compiling the filter with
// libseccomp, creating the cgroup) happens in the supervisor before fork;
// the child then only makes plain system calls, in this order:
//   1. join_cgroup_in_child()   first, still root: the leaf's cgroup.procs
//   2. apply_limits_in_child()  after the fds are in place (a low
//                               RLIMIT_NOFILE would refuse high fd numbers)
//   3. (ChildProcess: setgroups/setgid/setuid, PR_SET_NO_NEW_PRIVS)
//   4. install_seccomp_in_child()  last: only close_range and execve follow
// docs/sandbox.md describes the sandbox for operators.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"
#include "policies/restart_policy.h"
#include "supervisor/driver_cgroup.h"
#include "supervisor/seccomp_allow_list.h"

namespace uldd::supervisor {

// Resource limits of one driver process: the policy's [limits]
// (policies::ResourceLimits) as the spawner applies them. driver_limits()
// converts; this struct stays so that ChildProcess and its tests need no
// policy to spawn a sandboxed child.
struct DriverLimits {
  // RLIMIT_AS, 0 = unlimited. Counts every mapping: the DMA region the driver
  // maps (the whole memfd), ring, checkpoint and control regions, BAR, the
  // libraries and heap — so it must exceed the DMA region size by some tens
  // of MiB. Not applied in AddressSanitizer builds (its shadow is terabytes
  // of reserved address space).
  uint64_t memory_bytes = 0;
  // cgroup v2 cpu.max, percent of one CPU; 0 = no cap.
  uint32_t cpu_percent = 0;
  // RLIMIT_NOFILE: no new fd at or above this number. The driver's fds are
  // 3..11 (abi/driver_fds.h), so it must stay above 12.
  uint32_t open_files = 64;
  // RLIMIT_CORE: false = 0 (a crashing driver writes no core); true = keep
  // the supervisor's limit.
  bool core_dumps = false;
};

struct SandboxSpec {
  DriverLimits limits;
  // Where the driver's cgroup leaf goes (<root>/uldd.slice/<role>/). Used
  // only when it is a cgroup v2 mount; otherwise no CPU cap and a warning.
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
};

// The policy's [limits] field by field (docs/sandbox.md has the table).
DriverLimits driver_limits(const policies::ResourceLimits& limits);
// The sandbox every device's driver spawn uses: the allow-list plus the
// policy's limits. Hosts (DiskDevice, NicDevice) call it with the engine's
// current policy, so a policy reloaded on SIGHUP applies from the next
// spawn; RestartEngine also overwrites the limits of every sandboxed spec
// it spawns with its current policy's, so no host can start a driver with
// stale ones.
SandboxSpec sandbox_for(const policies::ResourceLimits& limits);

class SandboxLaunch {
 public:
  // In the supervisor, before fork. `exec_path` is the exact pointer the
  // child will hand to execve (see SeccompProgram). Problems that only
  // weaken the sandbox (no cgroup v2, no cpu controller) are logged, not
  // returned; a filter that cannot be built is an error.
  static Result<SandboxLaunch> prepare(const SandboxSpec& spec, const std::string& role,
                                       const char* exec_path);

  SandboxLaunch() = default;
  SandboxLaunch(SandboxLaunch&&) = default;
  SandboxLaunch& operator=(SandboxLaunch&&) = default;

  // Between fork and exec, in the order of the header comment. Each returns
  // 0 or an errno value; all are async-signal-safe.
  int join_cgroup_in_child() noexcept;
  int apply_limits_in_child() noexcept;
  int install_seccomp_in_child() noexcept;

  const char* exec_path() const { return exec_path_; }
  // The leaf to remove once the driver is reaped ("" when none).
  const std::filesystem::path& cgroup_dir() const { return cgroup_.dir(); }

 private:
  static constexpr int kMaxLimits = 3;
  struct Limit {
    int resource;
    rlimit value;
  };
  SeccompProgram seccomp_;
  DriverCgroup cgroup_;
  Limit limits_[kMaxLimits] = {};
  int limit_count_ = 0;
  const char* exec_path_ = nullptr;
};

}  // namespace uldd::supervisor
