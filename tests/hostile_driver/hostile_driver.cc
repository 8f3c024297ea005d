// uldd-hostile-driver: a driver process gone bad, to show that the driver
// sandbox (supervisor/driver_sandbox.h) holds. It makes one escape attempt
// (or all of them) and reports how it went through its exit status, so that
// a test can tell a stopped attempt from an escape:
//
//   uldd-hostile-driver --attempt=ATTEMPT [--path FILE]
//       [--uio=... --device NAME --standby]   (ignored: a real driver's args,
//                                              so it can stand in for one)
//   ATTEMPT defaults to $ULDD_HOSTILE_ATTEMPT, else "all".
//
//   open-shadow    open("/etc/shadow") read-only and read it; on success the
//                  bytes go to stderr and the control block's last_error
//                  (exfiltration a test can look for)
//   socket         socket(AF_INET, SOCK_DGRAM)
//   ptrace-parent  ptrace(PTRACE_ATTACH) the parent (the supervisor)
//   kill-parent    kill(parent, 0): the permission check of a real signal
//                  without its damage (SIGCONT would pass by session rules)
//   sigkill-parent kill(parent, SIGKILL): only ever run sandboxed or as a
//                  user who cannot signal the parent
//   tgkill-parent  tgkill(parent, parent, 0): the same through tgkill
//   write-parent-memory  open /proc/PARENT/mem for writing (writing outside
//                  the driver's own regions); nothing is written
//   write-file     create and write FILE (default /tmp/uldd-hostile-driver.PID)
//   exec-shell     execve("/bin/sh", "-c", "exit 0")
//   fork           fork() a child that exits at once
//   abort          abort(): must die by SIGABRT (own-process tgkill allowed)
//   none           nothing: start up (loader, libstdc++) and exit
//   idle           write "ready" to stdout, then sleep in ppoll until killed
//   all            open-shadow, socket, ptrace-parent, kill-parent,
//                  tgkill-parent, write-file, fork, exec-shell in turn
//   by-incarnation spawned as a driver (control block at fd 3): ONE attempt
//                  of kCycle, picked by ControlBlock::launch.incarnation, so
//                  that each restart of recovery scenario 008 tries the next
//   pretend        spawned as a driver: report kRunning in the control block
//                  (after --delay-ms) and keep the heartbeat going until
//                  killed — a driver that serves nothing (restart engine test)
//   refuse-warm    spawned as a driver: launched warm, exit 6 (refused, as a
//                  real driver with a bad checkpoint); launched cold, pretend
//
// Exit status: 0 = an attempt SUCCEEDED (an escape; for none/idle: normal
// end), 10 = every attempt failed with an error, 2 = bad command line. Death
// by SIGSYS = seccomp stopped an attempt. Each attempt is logged on stderr
// before it is made, so the supervisor's log tells which one was fatal.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "abi/control_block.h"
#include "abi/driver_fds.h"

namespace {

constexpr int kExitEscaped = 0;
constexpr int kExitRefused = 10;
constexpr int kExitUsage = 2;
constexpr int kExitWarmRefused = 6;  // as drivers/nvme/nvme_driver_main.cc
constexpr int kExitNoControlBlock = 3;

// by-incarnation: the brief's escapes, one per driver start.
const std::vector<std::string> kCycle = {
    "open-shadow",         "socket",     "ptrace-parent", "sigkill-parent",
    "write-parent-memory", "write-file", "fork",          "exec-shell"};

// The control block at fd 3 when spawned as a driver; null otherwise.
uldd::abi::ControlBlock* g_control = nullptr;

uldd::abi::ControlBlock* map_control_block() {
  void* p = ::mmap(nullptr, sizeof(uldd::abi::ControlBlock), PROT_READ | PROT_WRITE, MAP_SHARED,
                   uldd::abi::kFdControlBlock, 0);
  return p == MAP_FAILED ? nullptr : static_cast<uldd::abi::ControlBlock*>(p);
}

// What one attempt came to when the process survived it.
struct Outcome {
  bool succeeded;
  int error;  // errno when refused
};

Outcome ok() {
  return {true, 0};
}
Outcome refused() {
  return {false, errno};
}

Outcome open_shadow() {
  int fd = ::open("/etc/shadow", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return refused();
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  int err = errno;
  ::close(fd);
  if (n <= 0) return Outcome{false, err};
  // A real attacker would smuggle it out through whatever it can write.
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, buf, static_cast<size_t>(n));
  if (g_control != nullptr)
    uldd::abi::record_driver_failure(g_control, std::string_view(buf, static_cast<size_t>(n)));
  return ok();
}

Outcome make_socket() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return refused();
  ::close(fd);
  return ok();
}

Outcome ptrace_parent() {
  pid_t parent = ::getppid();
  if (::ptrace(PTRACE_ATTACH, parent, nullptr, nullptr) != 0) return refused();
  // Proven; let the parent go again (it was stopped by the attach).
  ::waitpid(parent, nullptr, __WALL);
  ::ptrace(PTRACE_DETACH, parent, nullptr, nullptr);
  return ok();
}

Outcome sigkill_parent() {
  return ::kill(::getppid(), SIGKILL) == 0 ? ok() : refused();
}

Outcome write_parent_memory() {
  std::string mem = "/proc/" + std::to_string(::getppid()) + "/mem";
  int fd = ::open(mem.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return refused();
  ::close(fd);  // the capability is the escape; nothing is written
  return ok();
}

Outcome kill_parent() {
  return ::kill(::getppid(), 0) == 0 ? ok() : refused();
}

Outcome tgkill_parent() {
  pid_t parent = ::getppid();
  return ::syscall(SYS_tgkill, parent, parent, 0) == 0 ? ok() : refused();
}

Outcome write_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return refused();
  ssize_t n = ::write(fd, "escaped\n", 8);
  int err = errno;
  ::close(fd);
  ::unlink(path.c_str());  // proven; leave nothing behind
  return n == 8 ? ok() : Outcome{false, err};
}

Outcome exec_shell() {
  // On success the shell replaces us and exits 0: an escape, as reported.
  ::execl("/bin/sh", "sh", "-c", "exit 0", static_cast<char*>(nullptr));
  return refused();
}

Outcome do_fork() {
  pid_t pid = ::fork();
  if (pid < 0) return refused();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return ok();
}

// A sanitizer build installs its own SIGSEGV/SIGBUS handlers, which turn a
// signal sent from outside into a report and an abort (SIGABRT): the signal a
// fault-injection test sends would not be the one the supervisor sees. A
// pretend driver dies of exactly what it is sent.
void restore_default_fault_signals() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(sig, &dfl, nullptr);
  }
}

// Looks like a serving driver to the supervisor: pid, kRunning, heartbeat.
int pretend(int delay_ms) {
  if (g_control == nullptr) return kExitNoControlBlock;
  restore_default_fault_signals();
  timespec delay{delay_ms / 1000, (delay_ms % 1000) * 1000000L};
  if (delay_ms > 0) ::clock_nanosleep(CLOCK_MONOTONIC, 0, &delay, nullptr);
  uldd::abi::DriverStatus& st = g_control->status;
  uldd::abi::store_shared(st.pid, static_cast<int32_t>(::getpid()));
  uldd::abi::store_shared(st.state, static_cast<uint32_t>(uldd::abi::DriverState::kRunning));
  const timespec beat{0, 10 * 1000000L};
  for (;;) {
    uldd::abi::store_shared(st.heartbeat, uldd::abi::load_shared(st.heartbeat) + 1);
    ::clock_nanosleep(CLOCK_MONOTONIC, 0, &beat, nullptr);
  }
}

int idle() {
  static const char kReady[] = "ready\n";
  [[maybe_unused]] ssize_t n = ::write(STDOUT_FILENO, kReady, sizeof kReady - 1);
  for (;;) ::ppoll(nullptr, 0, nullptr, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd hostile driver: tries to escape the driver sandbox (tests only)"};
  const char* from_env = std::getenv("ULDD_HOSTILE_ATTEMPT");
  std::string attempt = from_env != nullptr && *from_env != '\0' ? from_env : "all";
  std::string path = "/tmp/uldd-hostile-driver." + std::to_string(::getpid());
  std::string uio, device;
  bool standby = false;
  int delay_ms = 0;
  app.add_option("--attempt", attempt, "what to try (see the source header)");
  app.add_option("--delay-ms", delay_ms, "pretend: wait this long before reporting running");
  app.add_option("--path", path, "file for write-file");
  app.add_option("--uio", uio, "ignored (a real driver's option)");
  app.add_option("--device", device, "ignored (a real driver's option)");
  app.add_flag("--standby", standby, "ignored (a real driver's option)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  const std::map<std::string, std::function<Outcome()>> attempts = {
      {"open-shadow", open_shadow},       {"socket", make_socket},
      {"ptrace-parent", ptrace_parent},   {"kill-parent", kill_parent},
      {"tgkill-parent", tgkill_parent},   {"write-file", [&] { return write_file(path); }},
      {"exec-shell", exec_shell},         {"fork", do_fork},
      {"sigkill-parent", sigkill_parent}, {"write-parent-memory", write_parent_memory},
  };
  if (attempt == "by-incarnation" || attempt == "pretend" || attempt == "refuse-warm") {
    g_control = map_control_block();
    if (g_control == nullptr) {
      std::fprintf(stderr, "uldd-hostile-driver: %s needs the control block at fd 3\n",
                   attempt.c_str());
      return kExitNoControlBlock;
    }
    const uldd::abi::DriverLaunch& launch = g_control->launch;
    if (attempt == "pretend") return pretend(delay_ms);
    if (attempt == "refuse-warm") {
      auto mode = static_cast<uldd::abi::ResumeMode>(uldd::abi::load_shared(launch.resume_mode));
      return mode == uldd::abi::ResumeMode::kWarm ? kExitWarmRefused : pretend(delay_ms);
    }
    uint64_t incarnation = launch.incarnation;  // written before spawn; read once
    attempt = kCycle[incarnation % kCycle.size()];
    std::fprintf(stderr, "uldd-hostile-driver %d: start #%llu\n", ::getpid(),
                 static_cast<unsigned long long>(incarnation));
  }
  std::vector<std::string> order;
  if (attempt == "none") return kExitEscaped;
  if (attempt == "idle") return idle();
  if (attempt == "abort") std::abort();
  if (attempt == "all") {
    order = {"open-shadow",   "socket",     "ptrace-parent", "kill-parent",
             "tgkill-parent", "write-file", "fork",          "exec-shell"};
  } else if (attempts.count(attempt) != 0) {
    order = {attempt};
  } else {
    std::fprintf(stderr, "uldd-hostile-driver: unknown attempt '%s'\n", attempt.c_str());
    return kExitUsage;
  }
  for (const std::string& name : order) {
    std::fprintf(stderr, "uldd-hostile-driver %d: trying %s\n", ::getpid(), name.c_str());
    Outcome o = attempts.at(name)();
    if (o.succeeded) {
      std::fprintf(stderr, "uldd-hostile-driver %d: %s SUCCEEDED: the sandbox did not hold\n",
                   ::getpid(), name.c_str());
      return kExitEscaped;
    }
    std::fprintf(stderr, "uldd-hostile-driver %d: %s refused: %s\n", ::getpid(), name.c_str(),
                 std::strerror(o.error));
  }
  return kExitRefused;
}
