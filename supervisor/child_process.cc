#include "supervisor/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <cstring>

namespace uldd::supervisor {
namespace bp = boost::process::v2;

namespace {

// Runs in the child between vfork and exec. The child borrows the
// supervisor's memory (and stack) until it execs, so: only plain system
// calls, no allocation, no lock, nothing that writes state the parent reads
// later except the launcher's error code. Boost runs the initializers' hooks
// in the order they are passed; this one comes after BindFds, so the fds are
// in place when the limits are set.
struct ChildSetup {
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;
  bool die_with_parent = true;
  SandboxLaunch* sandbox = nullptr;

  template <class Launcher>
  bp::error_code on_exec_setup(Launcher&, const bp::filesystem::path&, const char* const*&) {
    // The parent blocked every signal around vfork (spawn()): a handler of
    // the supervisor's must never run here, on the supervisor's memory. Put
    // every caught signal back to its default, then open the mask the driver
    // starts with (empty; the supervisor blocks signals for its signalfd).
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0) continue;  // SIGKILL/STOP, libc-internal ones
      if (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN) continue;
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Own process group: a terminal's Ctrl-C reaches the supervisor only, which
    // then stops drivers and models in order (shim drained first).
    if (setpgid(0, 0) != 0) return bp::error_code(errno, bp::system_category());
    if (die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      return bp::error_code(errno, bp::system_category());
    // Limits while still root: lowering the hard limit is allowed either
    // way, but keeping the core limit as it is needs no privilege later.
    if (sandbox != nullptr) {
      if (int err = sandbox->apply_limits_in_child())
        return bp::error_code(err, bp::system_category());
    }
    if (switch_user) {
      // Raw system calls: glibc's setuid() & co. broadcast the change to
      // every thread of the process (SIGSETXID), and after vfork glibc still
      // sees the supervisor's threads as ours. The child has one thread.
      if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setgid, gid) != 0 ||
          ::syscall(SYS_setuid, uid) != 0)
        return bp::error_code(errno, bp::system_category());
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      return bp::error_code(errno, bp::system_category());
    // Last: from here on only Boost's close_range and the pinned execve.
    if (sandbox != nullptr) {
      if (int err = sandbox->install_seccomp_in_child())
        return bp::error_code(err, bp::system_category());
    }
    return {};
  }
};

// Boost 1.81's posix::vfork_launcher, minus what must not run in a vfork
// child: it calls the io_context's notify_fork(fork_child) there (asio's
// service registry then allocates and takes a mutex, on our heap, while the
// shim's and frontends' threads run), replaces a failed hook's error code by
// whatever errno holds, and ends a failed child with exit() (atexit handlers
// and static destructors on our memory). Here only the initializers'
// on_exec_setup hooks and execve run between vfork and exec; the first error
// is what the parent sees (the child writes it into `ec`, which vfork
// shares), and a failed child _exit()s. No io_context is involved: the pidfd
// is how the supervisor follows a child, so there is no fork to notify.
struct VforkLauncher : bp::posix::default_launcher {
  // Returns the child's pid, or -1 with `ec` set (a failed child is reaped).
  template <class Args, class... Inits>
  pid_t launch(const bp::filesystem::path& executable, const Args& args, bp::error_code& ec,
               Inits&... inits) {
    const char* const* argv = this->build_argv_(executable, args);
    ec = bp::posix::detail::on_setup(*this, executable, argv, inits...);
    if (ec) return -1;
    pid = ::vfork();
    if (pid == -1) {
      ec.assign(errno, bp::system_category());
      return -1;
    }
    if (pid == 0) {
      bp::error_code child = bp::posix::detail::on_exec_setup(*this, executable, argv, inits...);
      if (!child) {
        ::execve(executable.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(env));
        child.assign(errno, bp::system_category());
      }
      ec = child;
      ::_exit(127);
    }
    if (ec) {
      ::waitpid(pid, nullptr, 0);  // it _exit()ed already
      return -1;
    }
    return pid;
  }
};

// The first hooks of a sandboxed spawn. In the parent: checks that the path
// Boost will hand to execve is the very string the seccomp filter was pinned
// to (a copy would make the exec itself die by SIGSYS). In the child, before
// anything else and still as root: joins the driver's cgroup, so that no
// instruction of the driver ever runs outside it.
struct SandboxEntry {
  SandboxLaunch* sandbox;

  template <class Launcher>
  bp::error_code on_setup(Launcher&, const bp::filesystem::path& executable, const char* const*&) {
    if (executable.c_str() != sandbox->exec_path())
      return bp::error_code(EFAULT, bp::system_category());
    return {};
  }
  template <class Launcher>
  bp::error_code on_exec_setup(Launcher&, const bp::filesystem::path&, const char* const*&) {
    if (int err = sandbox->join_cgroup_in_child())
      return bp::error_code(err, bp::system_category());
    return {};
  }
};

// Every signal blocked in the calling thread for its lifetime: around
// vfork, so that nothing is delivered to the child before ChildSetup has
// reset the handlers it shares the memory of.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};

// Binds the spec's fds at their target numbers in the child and closes every
// other fd. Boost 1.81 gets both wrong on its own: posix::bind_fd falls off
// the end of its on_setup (no return value) and dup2s one fd at a time, which
// clobbers a source that is another fd's target; and its Linux close_all
// compares each whitelisted fd with itself instead of the next one, so fds in
// the gaps between whitelisted numbers leak into the child. Here every source
// first moves above the targets, then lands on its number, and everything not
// on the launcher's whitelist (stdio, targets, Boost's exec-error pipe) is
// closed with close_range. Runs between vfork and exec: no allocation.
struct BindFds {
  const std::vector<std::pair<int, int>>* fds;  // {target, source}

  template <class Launcher>
  bp::error_code on_setup(Launcher& launcher, const bp::filesystem::path&, const char* const*&) {
    for (const auto& [target, source] : *fds) launcher.fd_whitelist.push_back(target);
    return {};
  }
  template <class Launcher>
  bp::error_code on_exec_setup(Launcher& launcher, const bp::filesystem::path&,
                               const char* const*&) {
    int moved[64];
    size_t n = 0;
    for (const auto& [target, source] : *fds) {
      if (n == 64) return bp::error_code(E2BIG, bp::system_category());
      moved[n] = ::fcntl(source, F_DUPFD_CLOEXEC, 64);
      if (moved[n] < 0) return bp::error_code(errno, bp::system_category());
      ++n;
    }
    n = 0;
    for (const auto& [target, source] : *fds) {
      if (::dup2(moved[n++], target) < 0) return bp::error_code(errno, bp::system_category());
    }
    return close_all_but(launcher.fd_whitelist);
  }

  static bp::error_code close_all_but(const std::vector<int>& whitelist) {
    int keep[80];
    size_t k = 0;
    for (int fd : whitelist) {
      if (k == 80) return bp::error_code(E2BIG, bp::system_category());
      size_t i = k++;
      while (i > 0 && keep[i - 1] > fd) {  // insertion sort: the list is short
        keep[i] = keep[i - 1];
        --i;
      }
      keep[i] = fd;
    }
    unsigned next = 0;
    for (size_t i = 0; i < k; ++i) {
      auto fd = static_cast<unsigned>(keep[i]);
      if (fd > next && ::syscall(SYS_close_range, next, fd - 1, 0) != 0)
        return bp::error_code(errno, bp::system_category());
      next = std::max(next, fd + 1);
    }
    if (::syscall(SYS_close_range, next, ~0u, 0) != 0)
      return bp::error_code(errno, bp::system_category());
    return {};
  }
};

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const SpawnSpec& spec) {
  ChildSetup setup;
  setup.die_with_parent = spec.die_with_supervisor;
  if (!spec.user.empty()) {
    passwd* pw = ::getpwnam(spec.user.c_str());
    if (pw == nullptr) return plain_error(spec.role + ": unknown user '" + spec.user + "'");
    setup.uid = pw->pw_uid;
    setup.gid = pw->pw_gid;
    setup.switch_user = true;
  }

  if (::access(spec.executable.c_str(), X_OK) != 0)
    return errno_error(spec.role + ": cannot start " + spec.executable.string());

  ChildProcess child;
  child.role_ = spec.role;
  // What throws while preparing (the argument vector allocates, a path
  // converts) becomes an Error here, at the boundary, like `ec`.
  try {
    // One path object, alive across the launch: its c_str() is what execve
    // gets, and what the sandbox's filter allows execve for.
    const bp::filesystem::path executable(spec.executable.string());
    std::optional<SandboxLaunch> sandbox;
    if (spec.sandbox) {
      auto prepared = SandboxLaunch::prepare(*spec.sandbox, spec.role, executable.c_str());
      if (!prepared) return prepared.error();
      sandbox = std::move(prepared.value());
      setup.sandbox = &*sandbox;
      child.cgroup_dir_ = sandbox->cgroup_dir();
    }
    bp::error_code ec;
    // vfork, not fork: the supervisor is large and multi-threaded, and
    // copying its page tables (then faulting copy-on-write pages in both
    // processes) was most of a driver restart. The child runs on our memory
    // until it execs (ChildSetup says what that allows) while this thread
    // waits; an exec failure comes back through `ec`, which the child writes.
    VforkLauncher launcher;
    // Returns the pid: the pidfd below is how we hold the child from now on.
    auto launch = [&](auto&&... inits) -> pid_t {
      SignalsBlocked blocked;  // no handler of ours may run in the child
      return launcher.launch(executable, spec.args, ec, inits...);
    };
    child.pid_ = sandbox ? launch(SandboxEntry{&*sandbox}, BindFds{&spec.fds}, setup)
                         : launch(BindFds{&spec.fds}, setup);
    if (ec) {
      DriverCgroup::remove(child.cgroup_dir_);
      return Error{ec.value(), spec.role + ": cannot start " + spec.executable.string()};
    }
  } catch (const std::exception& e) {
    return plain_error(spec.role + ": cannot start " + spec.executable.string() + ": " + e.what());
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child.pid_, 0));
  if (pidfd < 0) {
    Error e = errno_error(spec.role + ": pidfd_open");
    ::kill(child.pid_, SIGKILL);
    ::waitpid(child.pid_, nullptr, 0);
    DriverCgroup::remove(child.cgroup_dir_);
    return e;
  }
  child.pidfd_.reset(pidfd);
  return child;
}

ChildProcess::~ChildProcess() {
  if (pidfd_.valid() && !exit_status_) terminate(std::chrono::milliseconds(1000));
}

ChildProcess ChildProcess::adopt(pid_t pid, UniqueFd pidfd, std::string role) {
  ChildProcess child;
  child.pid_ = pid;
  child.pidfd_ = std::move(pidfd);
  child.role_ = std::move(role);
  child.adopted_ = true;
  return child;
}

bool ChildProcess::reap_by_pidfd() {
  pollfd p{pidfd_.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  on_reaped(0);
  return true;
}

std::optional<int> ChildProcess::try_reap() {
  if (exit_status_ || pid_ < 0) return exit_status_;
  if (adopted_) {
    reap_by_pidfd();
    return exit_status_;
  }
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) on_reaped(status);
  return exit_status_;
}

void ChildProcess::kill_now(int signal) {
  // Through the pidfd only (it stays valid until this object dies): safe from
  // another thread, and a child already reaped just yields ESRCH.
  if (pidfd_.valid()) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0);
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (pid_ < 0) return 0;
  if (auto s = try_reap()) return *s;
  kill_now(SIGTERM);
  pollfd p{pidfd_.get(), POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(grace.count()));
  if (!try_reap()) {
    kill_now(SIGKILL);
    if (adopted_) {
      pollfd gone{pidfd_.get(), POLLIN, 0};
      ::poll(&gone, 1, -1);
      on_reaped(0);
      return 0;
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    on_reaped(status);
  }
  return *exit_status_;
}

void ChildProcess::on_reaped(int status) {
  exit_status_ = status;
  // The leaf is empty now; a restarted driver of the same role makes it anew.
  DriverCgroup::remove(cgroup_dir_);
}

std::string ChildProcess::describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  // SECCOMP_RET_KILL_PROCESS: the only way a sandboxed driver gets SIGSYS
  // (nothing else raises it on x86_64), and the first thing to debug.
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) return "killed by seccomp (SIGSYS)";
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace uldd::supervisor
