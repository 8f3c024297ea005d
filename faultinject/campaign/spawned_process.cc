// SpawnedProcess: see spawned_process.h.
#include "faultinject/campaign/spawned_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <utility>

extern char** environ;

namespace uldd::campaign {

Result<SpawnedProcess> SpawnedProcess::spawn(const std::vector<std::string>& argv,
                                             const std::filesystem::path& log_file) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int r = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (r != 0) return Error{r, "spawn " + argv[0]};
  SpawnedProcess p;
  p.pid_ = pid;
  return p;
}

SpawnedProcess::SpawnedProcess(SpawnedProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}

SpawnedProcess& SpawnedProcess::operator=(SpawnedProcess&& o) noexcept {
  if (this != &o) {
    stop(std::chrono::seconds(10));
    pid_ = std::exchange(o.pid_, -1);
    status_ = o.status_;
  }
  return *this;
}

bool SpawnedProcess::running() {
  if (pid_ < 0 || status_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> SpawnedProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ < 0) return status_;
  if (running()) {
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (running()) {
      ::kill(pid_, SIGKILL);
      // Bounded: a thread stuck in D state (FUSE) keeps even a killed
      // process from being reaped; the caller unsticks it and asks again.
      auto kill_deadline = std::chrono::steady_clock::now() + grace;
      while (running() && std::chrono::steady_clock::now() < kill_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (running()) return std::nullopt;
    }
  }
  pid_ = -1;
  return status_;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           sigabbrev_np(WTERMSIG(status)) + ")";
  return "wait status " + std::to_string(status);
}

}  // namespace uldd::campaign
