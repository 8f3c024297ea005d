// ChildProcess: a driver or device-model process the supervisor started, held
// by a pidfd so that its exit is noticed at once (poll on the pidfd) and a
// signal can never reach a recycled pid.
//
// Spawning goes through Boost.Process v2's vfork launcher (the supervisor is
// too large to fork on a recovery path; the child does only plain system
// calls on the borrowed memory before exec). The child gets exactly the fds
// named in `fds` (bound at their target numbers) plus stdio; every other fd is
// closed before exec. In the child, before exec: the signal mask is cleared
// (the supervisor blocks signals for its signalfd), the child gets its own
// process group (a terminal's Ctrl-C reaches only the supervisor, which stops
// children in order), no_new_privs is set, the child dies with the supervisor
// (PDEATHSIG), and it switches to `user` if one is given. With a `sandbox`
// (driver processes), the child also joins its cgroup, takes its resource
// limits and, last before exec, the seccomp allow-list (driver_sandbox.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "supervisor/driver_sandbox.h"

namespace uldd::supervisor {

struct SpawnSpec {
  std::filesystem::path executable;
  std::vector<std::string> args;
  std::vector<std::pair<int, int>> fds;  // {number in the child, fd in the supervisor}
  std::string user;                      // "" = keep the supervisor's identity
  std::string role;                      // for messages: "disk0 driver"
  std::optional<SandboxSpec> sandbox;    // drivers: seccomp + limits; none for trusted children
  // PDEATHSIG=SIGKILL. A device model sets false: it outlives a crashed
  // supervisor for the next one to reattach (it watches a lifeline pipe
  // instead, docs/fd-store.md).
  bool die_with_supervisor = true;
};

class ChildProcess {
 public:
  static Result<ChildProcess> spawn(const SpawnSpec& spec);
  // A process a previous supervisor started (a device model reattached after
  // a restart), held by a pidfd the caller opened and verified. It is not
  // our child: its exit is seen on the pidfd, its status is unknown
  // (try_reap() then reports 0).
  static ChildProcess adopt(pid_t pid, UniqueFd pidfd, std::string role);

  ChildProcess() = default;
  ChildProcess(ChildProcess&&) = default;
  ChildProcess& operator=(ChildProcess&&) = default;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return pidfd_.valid() && !exit_status_; }
  const std::string& role() const { return role_; }

  // Non-blocking: if the child has exited, reaps it and returns its status
  // (as from waitpid: use WIFEXITED etc.).
  std::optional<int> try_reap();
  // SIGTERM, then SIGKILL after `grace`; always reaps.
  int terminate(std::chrono::milliseconds grace);
  // Sends `signal` now; callable from any thread.
  void kill_now(int signal);

  // "exited with status 1", "killed by signal KILL", "killed by seccomp
  // (SIGSYS)" (a sandboxed driver made a system call off its allow-list).
  static std::string describe_status(int status);

 private:
  void on_reaped(int status);

  // Not our child (adopt()): no waitpid, the pidfd says when it is gone.
  bool reap_by_pidfd();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  bool adopted_ = false;
  std::optional<int> exit_status_;
  std::string role_;
  std::filesystem::path cgroup_dir_;  // the sandbox's cgroup leaf, removed once reaped
};

}  // namespace uldd::supervisor
