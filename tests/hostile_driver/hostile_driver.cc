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
//   open-shadow    open("/etc/shadow") read-only and read a byte
//   socket         socket(AF_INET, SOCK_DGRAM)
//   ptrace-parent  ptrace(PTRACE_SEIZE) the parent (the supervisor)
//   kill-parent    kill(parent, 0): the permission check of a real signal
//                  without its damage (SIGCONT would pass by session rules)
//   tgkill-parent  tgkill(parent, parent, 0): the same through tgkill
//   write-file     create and write FILE (default /tmp/uldd-hostile-driver.PID)
//   exec-shell     execve("/bin/sh", "-c", "exit 0")
//   fork           fork() a child that exits at once
//   abort          abort(): must die by SIGABRT (own-process tgkill allowed)
//   none           nothing: start up (loader, libstdc++) and exit
//   idle           write "ready" to stdout, then sleep in ppoll until killed
//   all            open-shadow, socket, ptrace-parent, kill-parent,
//                  tgkill-parent, write-file, fork, exec-shell in turn
//
// Exit status: 0 = an attempt SUCCEEDED (an escape; for none/idle: normal
// end), 10 = every attempt failed with an error, 2 = bad command line. Death
// by SIGSYS = seccomp stopped an attempt. Each attempt is logged on stderr
// before it is made, so the supervisor's log tells which one was fatal.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

namespace {

constexpr int kExitEscaped = 0;
constexpr int kExitRefused = 10;
constexpr int kExitUsage = 2;

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
  char c;
  ssize_t n = ::read(fd, &c, 1);
  int err = errno;
  ::close(fd);
  return n == 1 ? ok() : Outcome{false, err};
}

Outcome make_socket() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return refused();
  ::close(fd);
  return ok();
}

Outcome ptrace_parent() {
  // SEIZE does not stop the tracee; our exit detaches it again.
  if (::ptrace(PTRACE_SEIZE, ::getppid(), nullptr, nullptr) != 0) return refused();
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
  app.add_option("--attempt", attempt, "what to try (see the source header)");
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
      {"open-shadow", open_shadow},     {"socket", make_socket},
      {"ptrace-parent", ptrace_parent}, {"kill-parent", kill_parent},
      {"tgkill-parent", tgkill_parent}, {"write-file", [&] { return write_file(path); }},
      {"exec-shell", exec_shell},       {"fork", do_fork},
  };
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
