#include "supervisor/seccomp_allow_list.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/unique_fd.h"

namespace uldd::supervisor {
namespace {

// What a rule demands of one argument; everything else about the call is free.
enum class Check : uint8_t {
  kAny,                 // no condition
  kReadOnlyOpen,        // open flags carry none of kWritingOpenFlags
  kNotWritableAndExec,  // protection is not PROT_WRITE and PROT_EXEC at once
  kEquals,              // argument == value
  kHasBits,             // (argument & value) == value
  kOwnTgid,             // argument == the driver's own tgid (patched in the child)
  kExecPath,            // argument == the path pointer the spawning child passes
};

struct Rule {
  const char* syscall;
  Check check = Check::kAny;
  unsigned arg = 0;    // which argument the check looks at
  uint64_t value = 0;  // for kEquals / kHasBits
};

// Any of these turns an open into one that can change a file.
// (O_TMPFILE includes O_DIRECTORY, which a read-only open may carry.)
constexpr uint64_t kWritingOpenFlags =
    O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY);

// THE ALLOW-LIST. One table; a comment per group says why the group is here.
// Not listed = SECCOMP_RET_KILL_PROCESS. Notably absent, on purpose: socket
// and every other network call, clone/clone3/fork/vfork, kill/tkill/
// rt_sigqueueinfo/pidfd_*, ptrace, process_vm_*, execveat, openat2 (its flags
// sit in a struct the filter cannot read), file changes (unlink, rename,
// chmod, mkdir, ...), ioctls beyond TCGETS, prctl, memfd_create, io_uring_*,
// bpf, perf_event_open, userfaultfd, keyctl, mount, unshare, setns.
constexpr Rule kDriverAllowList[] = {
    // Exec, once: the spawning child executes the driver under the filter
    // already. Pinned to the supervisor's own path string (see header).
    {"execve", Check::kExecPath, 0},
    // Between our hook and execve, Boost.Process closes stray fds.
    {"close_range"},

    // The dynamic loader and libc start-up: map the libraries read-only from
    // disk, relocate, set up TLS, robust futex list, rseq, stack limit probe,
    // malloc's random seed. Opening is read-only (files nobody cannot read
    // stay unreadable by permissions); no mapping is writable and executable
    // at once.
    {"openat", Check::kReadOnlyOpen, 2},
    {"open", Check::kReadOnlyOpen, 1},
    {"access"},
    {"faccessat"},
    {"newfstatat"},
    {"fstat"},
    {"read"},
    {"pread64"},
    {"lseek"},
    {"close"},
    {"mmap", Check::kNotWritableAndExec, 2},
    {"mprotect", Check::kNotWritableAndExec, 2},
    {"munmap"},
    {"brk"},
    {"madvise"},
    {"mremap"},
    {"arch_prctl"},
    {"set_tid_address"},
    {"set_robust_list"},
    {"rseq"},
    {"getrandom"},
    {"futex"},
    // Own limits only (getrlimit/setrlimit go through prlimit64; pid 0 = self).
    {"prlimit64", Check::kEquals, 0, 0},
    // isatty() on stdio (spdlog, iostreams). Other ioctls could push input
    // into the supervisor's terminal (TIOCSTI) or poke devices.
    {"ioctl", Check::kEquals, 1, TCGETS},

    // The driver's work on the fds it was given: sleep in ppoll/epoll on the
    // wake eventfd and the IRQ fd, read/write eventfds (kicks, interrupt
    // count and unmask), pread/pwrite (PCI config space of kernel UIO),
    // fcntl (fd checks at start-up), time for heartbeats and timeouts.
    {"ppoll"},
    {"poll"},
    {"epoll_create1"},
    {"epoll_ctl"},
    {"epoll_wait"},
    {"epoll_pwait"},
    {"write"},
    {"readv"},
    {"writev"},
    {"pwrite64"},
    {"fcntl"},
    {"clock_gettime"},
    {"clock_getres"},
    {"clock_nanosleep"},
    {"nanosleep"},
    {"gettimeofday"},
    {"sched_yield"},
    // Harmless identity queries (log lines, the pid in the control block).
    {"getpid"},
    {"gettid"},
    {"getppid"},
    {"getuid"},
    {"geteuid"},
    {"getgid"},
    {"getegid"},

    // Signals within the process: SIGTERM handler, the ppoll sleep mask, and
    // abort()/raise(), which send with tgkill to the own thread group only.
    {"rt_sigaction"},
    {"rt_sigprocmask"},
    {"rt_sigreturn"},
    {"sigaltstack"},
    {"restart_syscall"},
    {"tgkill", Check::kOwnTgid, 0},

    // Leaving.
    {"exit"},
    {"exit_group"},

#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer/LeakSanitizer builds only (scripts/test.sh's second
    // pass): the runtime reads its maps and probes whether memory is readable
    // by write()ing it into a pipe; at exit LeakSanitizer stops the world
    // from a CLONE_VM helper task that ptraces the process's own threads
    // (Yama needs PR_SET_PTRACER first). fork (no CLONE_VM) stays forbidden;
    // ptrace of other processes is still refused by permissions.
    {"pipe2"},
    {"readlink"},
    {"readlinkat"},
    {"getdents"},  // sanitizer_common lists /proc/self/task with the old call
    {"getdents64"},
    {"sched_getaffinity"},
    {"mincore"},
    {"uname"},
    {"prctl"},
    {"clone", Check::kHasBits, 0, CLONE_VM},
    {"ptrace"},
    {"wait4"},
#endif
};

Status add_rule(scmp_filter_ctx ctx, const Rule& rule, const char* exec_path) {
  int nr = seccomp_syscall_resolve_name(rule.syscall);
  if (nr == __NR_SCMP_ERROR)
    return plain_error(std::string("seccomp: unknown system call ") + rule.syscall);
  auto cmp = [&](scmp_compare op, uint64_t a, uint64_t b) {
    scmp_arg_cmp c{};
    c.arg = rule.arg;
    c.op = op;
    c.datum_a = a;
    c.datum_b = b;
    return c;
  };
  auto add = [&](const scmp_arg_cmp* c) -> Status {
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, c ? 1 : 0, c);
    if (rc != 0) return Error{-rc, std::string("seccomp: rule for ") + rule.syscall};
    return {};
  };
  switch (rule.check) {
    case Check::kAny:
      return add(nullptr);
    case Check::kReadOnlyOpen: {
      auto c = cmp(SCMP_CMP_MASKED_EQ, kWritingOpenFlags, 0);
      return add(&c);
    }
    case Check::kNotWritableAndExec: {
      // Three allowed combinations; libseccomp ORs rules of one syscall.
      constexpr uint64_t wx = PROT_WRITE | PROT_EXEC;
      for (uint64_t allowed : {uint64_t{0}, uint64_t{PROT_WRITE}, uint64_t{PROT_EXEC}}) {
        auto c = cmp(SCMP_CMP_MASKED_EQ, wx, allowed);
        ULDD_TRY(add(&c));
      }
      return {};
    }
    case Check::kEquals: {
      auto c = cmp(SCMP_CMP_EQ, rule.value, 0);
      return add(&c);
    }
    case Check::kHasBits: {
      auto c = cmp(SCMP_CMP_MASKED_EQ, rule.value, rule.value);
      return add(&c);
    }
    case Check::kOwnTgid: {
      auto c = cmp(SCMP_CMP_EQ, kOwnTgidPlaceholder, 0);
      return add(&c);
    }
    case Check::kExecPath: {
      auto c = cmp(SCMP_CMP_EQ, reinterpret_cast<uintptr_t>(exec_path), 0);
      return add(&c);
    }
  }
  return plain_error("seccomp: bad rule");
}

}  // namespace

Result<SeccompProgram> SeccompProgram::compile_driver_allow_list(const char* exec_path) {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS),
                                                       &seccomp_release);
  if (!ctx) return plain_error("seccomp_init failed");
  // A 32-bit (int 0x80) or x32 system call would be numbered differently and
  // slip past name-based rules: kill those too.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return Error{-rc, "seccomp: bad-arch action"};
  for (const Rule& rule : kDriverAllowList) ULDD_TRY(add_rule(ctx.get(), rule, exec_path));

  // Exported to memory (a memfd), then read back: the child gets a plain
  // array and libseccomp never runs after fork.
  UniqueFd fd(::memfd_create("uldd-seccomp-bpf", MFD_CLOEXEC));
  if (!fd.valid()) return errno_error("memfd_create(seccomp bpf)");
  rc = seccomp_export_bpf(ctx.get(), fd.get());
  if (rc != 0) return Error{-rc, "seccomp_export_bpf"};
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0 ||
      size / static_cast<off_t>(sizeof(sock_filter)) > BPF_MAXINSNS)
    return plain_error("seccomp: exported program has a bad size: " + std::to_string(size) +
                       " bytes");
  SeccompProgram prog;
  prog.instructions_.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(fd.get(), prog.instructions_.data(), static_cast<size_t>(size), 0) != size)
    return errno_error("read back seccomp bpf");
  for (size_t i = 0; i < prog.instructions_.size(); ++i) {
    const sock_filter& ins = prog.instructions_[i];
    if (ins.code == (BPF_JMP | BPF_JEQ | BPF_K) && ins.k == kOwnTgidPlaceholder)
      prog.own_tgid_slots_.push_back(static_cast<uint32_t>(i));
  }
  // Without a slot, tgkill could never be allowed (abort() would die by
  // SIGSYS instead of SIGABRT): a libseccomp code-generation change.
  if (prog.own_tgid_slots_.empty())
    return plain_error("seccomp: own-tgid placeholder not found in the program");
  return prog;
}

void SeccompProgram::patch_own_tgid(pid_t tgid) noexcept {
  for (uint32_t slot : own_tgid_slots_) instructions_[slot].k = static_cast<uint32_t>(tgid);
}

int SeccompProgram::install_in_child() noexcept {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(instructions_.size());
  prog.filter = instructions_.data();
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return errno;
  return 0;
}

}  // namespace uldd::supervisor
