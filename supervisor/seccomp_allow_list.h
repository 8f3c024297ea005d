// SeccompProgram: the system-call allow-list every driver process runs under,
// compiled to a classic BPF program in the supervisor so that the child, after
// fork, has nothing left to do but one prctl(PR_SET_SECCOMP).
//
// A driver is untrusted code with shared memory into the shim and the device.
// Permissions (user nobody, no_new_privs, exactly its fds) already keep it
// from files and privileged operations; the allow-list removes what
// permissions cannot: making sockets, forking, ptrace and signals to other
// processes of the same user (two drivers both run as nobody), writing files
// the user can write (/tmp), and new kernel attack surface (io_uring, bpf,
// userfaultfd, keyctl, ...). Anything not on the list kills the whole process
// (SECCOMP_RET_KILL_PROCESS): the supervisor sees death by SIGSYS, which it
// treats like any other driver crash. The list itself, group by group with
// the reason for each, is in seccomp_allow_list.cc; docs/sandbox.md explains
// it for operators.
//
// Two rules depend on values only known at spawn time:
// - execve is allowed once, for the path the supervisor itself passes: the
//   filter compares execve's first argument with the address of that string
//   in the supervisor's (and so the forked child's) memory. After exec the
//   address space is new; a hostile driver would have to guess that address
//   on its first try, since a wrong guess is death by SIGSYS. (seccomp cannot
//   count calls, so this is the closest to "once" it can express.)
// - tgkill is allowed only to the driver's own thread group, which abort()
//   and raise() need. The child's pid is unknown when the filter is compiled,
//   so the program carries a placeholder that the child replaces with
//   getpid() before installing it (patch_own_tgid: memory writes only).
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "common/result.h"

namespace uldd::supervisor {

// A pid no kernel hands out (above PID_MAX_LIMIT, 4194304): the stand-in for
// the driver's own tgid in the compiled program until the child patches it.
inline constexpr uint32_t kOwnTgidPlaceholder = 0x3eadbeefu;

class SeccompProgram {
 public:
  // Compiles the driver allow-list with libseccomp (allocates: call in the
  // parent). `exec_path` is the very pointer the child will pass to execve.
  static Result<SeccompProgram> compile_driver_allow_list(const char* exec_path);

  // In the child after fork: puts the child's pid where the placeholder is.
  // Async-signal-safe (writes into memory the child already owns).
  void patch_own_tgid(pid_t tgid) noexcept;
  // In the child, last thing before exec (after setuid and no_new_privs,
  // which an unprivileged process needs to install a filter). Returns 0 or
  // an errno value. Async-signal-safe.
  int install_in_child() noexcept;

  size_t instruction_count() const { return instructions_.size(); }
  size_t own_tgid_slot_count() const { return own_tgid_slots_.size(); }
  const std::vector<sock_filter>& instructions() const { return instructions_; }

 private:
  std::vector<sock_filter> instructions_;
  std::vector<uint32_t> own_tgid_slots_;  // indices of instructions whose k is the placeholder
};

}  // namespace uldd::supervisor
