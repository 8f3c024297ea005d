// SwifiTargetProcess: one uldd-swifi-target child for the SWIFI tests, its
// stdout and stdin on pipes, killed and reaped when the test ends; reads the
// addresses and tick lines the target prints (faultinject/testing/swifi_target.cc).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

namespace uldd::faultinject {

// The four values the target keeps (or their addresses).
struct TargetValues {
  uint64_t data = 0, heap = 0, stack = 0, text = 0;
};

// Modes: "run", "spin", "block" (faultinject/testing/swifi_target.cc).
class SwifiTargetProcess {
 public:
  explicit SwifiTargetProcess(const char* mode) {
    int fds[2], in[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(in[0], STDIN_FILENO);
      ::execl(ULDD_SWIFI_TARGET, ULDD_SWIFI_TARGET, mode, static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    ::close(in[0]);
    out_ = fds[0];
    in_ = in[1];
  }
  ~SwifiTargetProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(in_);
  }
  pid_t pid() const { return pid_; }
  // One byte to its stdin (wakes the "block" mode).
  bool poke_stdin() { return ::write(in_, "x", 1) == 1; }

  // The next line, or nullopt after `timeout` (or at end of output).
  std::optional<std::string> line(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return l;
      }
      // Polls at least once: drain() must see what is already in the pipe.
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      struct pollfd p {
        out_, POLLIN, 0
      };
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0)
        return std::nullopt;
      char chunk[4096];
      ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  // Drops what was printed so far (without blocking).
  void drain() {
    while (line(std::chrono::milliseconds(1))) {
    }
  }
  // The values of a tick computed after this call (the first line after it
  // may have been computed before, then held in write()).
  std::optional<TargetValues> fresh_tick() {
    drain();
    if (!line()) return std::nullopt;
    auto l = line();
    if (!l) return std::nullopt;
    return parse(*l, "tick %*u data=%" SCNx64 " heap=%" SCNx64 " stack=%" SCNx64 " text=%" SCNx64);
  }
  std::optional<TargetValues> addresses() {
    auto l = line();
    if (!l) return std::nullopt;
    return parse(*l, "addresses data=%" SCNx64 " heap=%" SCNx64 " stack=%" SCNx64 " text=%" SCNx64);
  }
  // SIGSTOP, and wait until it is stopped.
  void stop() {
    ASSERT_EQ(::kill(pid_, SIGSTOP), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid_, &status, WUNTRACED), pid_);
    ASSERT_TRUE(WIFSTOPPED(status));
  }
  // The wait status once it ended, or nullopt after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }

 private:
  static std::optional<TargetValues> parse(const std::string& l, const char* format) {
    TargetValues v;
    if (std::sscanf(l.c_str(), format, &v.data, &v.heap, &v.stack, &v.text) != 4)
      return std::nullopt;
    return v;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  std::string buffer_;
};

}  // namespace uldd::faultinject
