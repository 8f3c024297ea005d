// NetworkNamespace, run_command, udp_socket_in: see network_namespace.h.
#include "faultinject/campaign/network_namespace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <optional>
#include <thread>
#include <utility>

extern char** environ;

namespace uldd::campaign {
namespace {

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = std::string(dir) + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return name;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

Result<sockaddr_in> address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1)
    return plain_error("'" + ip + "' is not an IPv4 address");
  return a;
}

}  // namespace

Status run_command(const std::vector<std::string>& argv) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error("pipe for " + joined(argv));
  UniqueFd read_end(err_pipe[0]), write_end(err_pipe[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  // The runner blocks SIGINT/SIGTERM in all threads; the child must not
  // inherit that mask.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::string exe = find_program(argv.at(0));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exe.c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    return errno_error("cannot run " + joined(argv));
  }
  write_end.reset();
  std::string err;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  for (;;) {
    pollfd p{read_end.get(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      char buf[512];
      ssize_t n = ::read(read_end.get(), buf, sizeof buf);
      if (n > 0 && err.size() < 4096) err.append(buf, static_cast<size_t>(n));
    }
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return plain_error(joined(argv) + ": did not finish in 10 s");
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string first = err.substr(0, err.find('\n'));
  return plain_error(joined(argv) + ": " +
                     (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "killed by signal " + std::to_string(WTERMSIG(status))) +
                     (first.empty() ? "" : " (" + first + ")"));
}

Result<NetworkNamespace> NetworkNamespace::create(const std::string& name) {
  struct stat st {};
  if (::stat(("/run/netns/" + name).c_str(), &st) == 0)
    return plain_error("network namespace " + name + " exists already (/run/netns/" + name + ")");
  ULDD_TRY(run_command({"ip", "netns", "add", name}));
  NetworkNamespace ns;
  ns.name_ = name;
  ULDD_TRY(run_command({"ip", "-n", name, "link", "set", "lo", "up"}));
  return ns;
}

NetworkNamespace::NetworkNamespace(NetworkNamespace&& o) noexcept
    : name_(std::exchange(o.name_, {})) {}

NetworkNamespace& NetworkNamespace::operator=(NetworkNamespace&& o) noexcept {
  if (this != &o) {
    remove();
    name_ = std::exchange(o.name_, {});
  }
  return *this;
}

void NetworkNamespace::remove() {
  if (name_.empty()) return;
  (void)run_command({"ip", "netns", "del", name_});
  name_.clear();
}

Result<UniqueFd> udp_socket_in(const std::string& netns, const std::string& bind_ip,
                               uint16_t bind_port, const std::string& connect_ip,
                               uint16_t connect_port) {
  auto local = address(bind_ip, bind_port);
  if (!local) return local.error();
  std::optional<sockaddr_in> remote;
  if (!connect_ip.empty()) {
    auto r = address(connect_ip, connect_port);
    if (!r) return r.error();
    remote = *r;
  }
  std::string path = "/run/netns/" + netns;
  UniqueFd ns_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns_fd.valid()) return errno_error("open " + path);
  // setns() changes only the calling thread's network namespace: a thread
  // of its own enters, makes the socket (which stays in that namespace),
  // and ends.
  Result<UniqueFd> out = plain_error("not run");
  std::thread([&] {
    if (::setns(ns_fd.get(), CLONE_NEWNET) != 0) {
      out = errno_error("setns into " + path);
      return;
    }
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid()) {
      out = errno_error("socket in netns " + netns);
      return;
    }
    int big = 1 << 20;
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    ::setsockopt(s.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&*local), sizeof *local) != 0) {
      out = errno_error("bind " + bind_ip + ":" + std::to_string(bind_port) + " in netns " + netns);
      return;
    }
    if (remote &&
        ::connect(s.get(), reinterpret_cast<const sockaddr*>(&*remote), sizeof *remote) != 0) {
      out = errno_error("connect to " + connect_ip + ":" + std::to_string(connect_port) +
                        " in netns " + netns);
      return;
    }
    out = std::move(s);
  }).join();
  return out;
}

}  // namespace uldd::campaign
