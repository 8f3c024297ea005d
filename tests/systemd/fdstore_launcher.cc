// uldd-fdstore-launcher: plays the service manager's part of the fd store
// for tests, without systemd (docs/fd-store.md). It runs a command (the
// supervisor) with NOTIFY_SOCKET pointing at its own datagram socket, keeps
// every fd the command stores there (FDSTORE=1 + FDNAME=, fds as
// SCM_RIGHTS; FDSTOREREMOVE=1 closes them again), and when the command dies
// by a signal runs it again with the stored fds at 3.. and LISTEN_FDS,
// LISTEN_FDNAMES and LISTEN_PID set, as systemd does for Restart=on-failure
// with FileDescriptorStoreMax=. Like the service manager it is the reaper of
// what the command leaves behind (PR_SET_CHILD_SUBREAPER): a device model
// orphaned by a killed supervisor becomes its child.
//
//   uldd-fdstore-launcher [--max-restarts N] [--pid-file FILE] -- COMMAND [ARGS...]
//
// Every event goes to stderr as one line starting "fdstore-launcher: ".
// SIGTERM/SIGINT are passed on to the command. Exit status: the command's
// (128 + signal when it died by one and no restart was left).
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

struct StoredFd {
  std::string name;
  int fd;
};

void say(const std::string& line) {
  std::fprintf(stderr, "fdstore-launcher: %s\n", line.c_str());
}

std::string field(const std::string& text, const std::string& key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, key.size() + 1, key + "=") == 0)
      return text.substr(at + key.size() + 1, end - at - key.size() - 1);
    at = end + 1;
  }
  return {};
}

// The same open file (struct file), as systemd's same_fd() asks kcmp(2):
// an inode comparison would take all eventfds for one (one anon inode).
bool same_file(int a, int b) {
  const pid_t self = ::getpid();
  return ::syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

class Launcher {
 public:
  Launcher(std::vector<std::string> command, int max_restarts, std::string pid_file)
      : command_(std::move(command)), max_restarts_(max_restarts), pid_file_(std::move(pid_file)) {}

  int run() {
    if (!open_socket()) return 1;
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signals_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int restarts = 0;
    for (;;) {
      if (!spawn()) return 1;
      int status = wait_for_command();
      if (WIFSIGNALED(status) && restarts < max_restarts_ && !stopping_) {
        ++restarts;
        say("supervisor pid " + std::to_string(child_) + " killed by signal " +
            std::to_string(WTERMSIG(status)) + "; restart " + std::to_string(restarts) +
            " with LISTEN_FDS=" + std::to_string(stored_.size()));
        continue;
      }
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      say("supervisor pid " + std::to_string(child_) + " ended (" +
          (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                             : "signal " + std::to_string(WTERMSIG(status))) +
          "), " + std::to_string(stored_.size()) + " fds left in the store; launcher exits " +
          std::to_string(code));
      for (const StoredFd& s : stored_) ::close(s.fd);
      stored_.clear();
      std::filesystem::remove_all(dir_);
      return code;
    }
  }

 private:
  bool open_socket() {
    char tmpl[] = "/tmp/uldd-fdstore.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return false;
    dir_ = tmpl;
    socket_path_ = dir_ + "/notify";
    sock_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path_.c_str());
    if (::bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      say("bind " + socket_path_ + ": " + std::strerror(errno));
      return false;
    }
    // Receive buffer for bursts of FDSTORE messages at start-up.
    int size = 4 << 20;
    ::setsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    return true;
  }

  bool spawn() {
    std::string names;
    for (const StoredFd& s : stored_) names += (names.empty() ? "" : ":") + s.name;
    pid_t pid = ::fork();
    if (pid < 0) {
      say(std::string("fork: ") + std::strerror(errno));
      return false;
    }
    if (pid == 0) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      ::setenv("NOTIFY_SOCKET", socket_path_.c_str(), 1);
      const int n = static_cast<int>(stored_.size());
      if (n > 0) {
        // Out of the way first (a stored fd may sit on another's target).
        std::vector<int> high;
        for (const StoredFd& s : stored_)
          high.push_back(::fcntl(s.fd, F_DUPFD_CLOEXEC, 3 + n + 16));
        for (int i = 0; i < n; ++i)
          ::dup2(high[static_cast<size_t>(i)], 3 + i);  // dup2 clears CLOEXEC
        ::setenv("LISTEN_FDS", std::to_string(n).c_str(), 1);
        ::setenv("LISTEN_FDNAMES", names.c_str(), 1);
        ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);  // our own pid: after fork
      } else {
        ::unsetenv("LISTEN_FDS");
        ::unsetenv("LISTEN_FDNAMES");
        ::unsetenv("LISTEN_PID");
      }
      std::vector<char*> argv;
      for (auto& a : command_) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      std::fprintf(stderr, "fdstore-launcher: exec %s: %s\n", argv[0], std::strerror(errno));
      ::_exit(127);
    }
    child_ = pid;
    say("started supervisor pid " + std::to_string(pid) +
        (stored_.empty() ? std::string(" (fresh)")
                         : " with LISTEN_FDS=" + std::to_string(stored_.size())));
    if (!pid_file_.empty()) {
      const std::string tmp = pid_file_ + ".tmp";
      if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fprintf(f, "%d\n", pid);
        std::fclose(f);
        std::rename(tmp.c_str(), pid_file_.c_str());
      }
    }
    return true;
  }

  // Serves the socket until the command is gone; returns its wait status.
  int wait_for_command() {
    for (;;) {
      pollfd fds[2] = {{sock_, POLLIN, 0}, {signals_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return 0;
      if (fds[0].revents & POLLIN) receive_all();
      if (fds[1].revents & POLLIN) {
        signalfd_siginfo si{};
        while (::read(signals_, &si, sizeof si) == sizeof si) {
          if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            stopping_ = true;
            say("signal " + std::to_string(si.ssi_signo) + ": passing it on to pid " +
                std::to_string(child_));
            ::kill(child_, static_cast<int>(si.ssi_signo));
          }
        }
        // Reap everything: the command, and orphans we are the reaper of.
        for (;;) {
          int status = 0;
          pid_t pid = ::waitpid(-1, &status, WNOHANG);
          if (pid <= 0) break;
          if (pid == child_) {
            receive_all();  // what it sent just before dying
            return status;
          }
          say("reaped orphan pid " + std::to_string(pid));
        }
      }
    }
  }

  void receive_all() {
    for (;;) {
      char data[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
      iovec iov{data, sizeof data - 1};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(sock_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (n < 0) return;
      std::string text(data, static_cast<size_t>(n));
      std::vector<int> fds;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const int* p = reinterpret_cast<const int*>(CMSG_DATA(c));
        fds.insert(fds.end(), p, p + count);
      }
      handle(text, fds);
    }
  }

  void handle(const std::string& text, std::vector<int>& fds) {
    const std::string name = field(text, "FDNAME");
    if (field(text, "FDSTORE") == "1") {
      for (int fd : fds) {
        bool duplicate = false;
        for (const StoredFd& s : stored_) duplicate = duplicate || same_file(s.fd, fd);
        if (duplicate) {  // systemd keeps one copy of a file
          ::close(fd);
          continue;
        }
        stored_.push_back({name.empty() ? "stored" : name, fd});
      }
      say("stored " + std::to_string(fds.size()) + " fd(s) as '" + name + "' (" +
          std::to_string(stored_.size()) + " in the store)");
      return;
    }
    for (int fd : fds) ::close(fd);  // fds with anything but FDSTORE=1 are not kept
    if (field(text, "FDSTOREREMOVE") == "1") {
      size_t removed = 0;
      for (auto it = stored_.begin(); it != stored_.end();) {
        if (it->name == name) {
          ::close(it->fd);
          it = stored_.erase(it);
          ++removed;
        } else {
          ++it;
        }
      }
      say("removed " + std::to_string(removed) + " fd(s) named '" + name + "'");
      return;
    }
    if (field(text, "READY") == "1") say("READY=1 from pid " + std::to_string(child_));
    if (field(text, "STOPPING") == "1") say("STOPPING=1 from pid " + std::to_string(child_));
  }

  std::vector<std::string> command_;
  int max_restarts_;
  std::string pid_file_;
  std::string dir_, socket_path_;
  int sock_ = -1, signals_ = -1;
  pid_t child_ = -1;
  bool stopping_ = false;
  std::vector<StoredFd> stored_;
};

}  // namespace

int main(int argc, char** argv) {
  int max_restarts = 3;
  std::string pid_file;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--max-restarts" && i + 1 < argc) {
      max_restarts = std::atoi(argv[++i]);
    } else if (a == "--pid-file" && i + 1 < argc) {
      pid_file = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: uldd-fdstore-launcher [--max-restarts N] [--pid-file FILE] -- COMMAND "
                   "[ARGS...]\n");
      return 2;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr, "uldd-fdstore-launcher: no command\n");
    return 2;
  }
  return Launcher(std::vector<std::string>(argv + i, argv + argc), max_restarts, pid_file).run();
}
