// ChildProcess: a spawned child gets exactly the fds it was given at the
// numbers asked for (even when a source number is another fd's target),
// nothing else; no_new_privs, its own process group, a clear signal mask; its
// exit is seen through the pidfd; a failure in the (vfork) child is an error,
// not damage to the parent.
#include "supervisor/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace uldd::supervisor {
namespace {

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(ChildProcessTest, ChildSeesExactlyItsFdsAndIsConfined) {
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  int a = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int b = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  int stray = ::open("/dev/null", O_RDONLY);  // not close-on-exec, not given: must not leak
  ASSERT_GE(stray, 0);
  // Ask for b at a's number and a at 20: the naive dup2 order would clobber.
  SpawnSpec spec;
  spec.executable = "/bin/sh";
  spec.args = {"-c",
               "ls /proc/$$/fd | sort -n | tr '\\n' ' '; echo; readlink /proc/$$/fd/20; "
               "grep NoNewPrivs /proc/self/status; grep SigBlk /proc/self/status; ps -o pgid= -p $$"};
  spec.fds = {{1, out[1]}, {a, b}, {20, a}};
  spec.role = "test child";
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);  // the supervisor's situation
  auto child = ChildProcess::spawn(spec);
  pthread_sigmask(SIG_UNBLOCK, &block, nullptr);
  ASSERT_TRUE(child.ok()) << child.error().describe();
  ::close(out[1]);
  std::string text = read_all(out[0]);
  ::close(out[0]);
  // The shell's own fds (ls lists its parent's table): stdio, a's number, 20.
  EXPECT_EQ(text.substr(0, text.find('\n')), "0 1 2 " + std::to_string(a) + " 20 ") << text;
  EXPECT_NE(text.find("\n/dev/null\n"), std::string::npos) << text;  // fd 20 is what `a` was
  EXPECT_NE(text.find("NoNewPrivs:\t1"), std::string::npos) << text;
  EXPECT_NE(text.find("SigBlk:\t0000000000000000"), std::string::npos) << text;
  EXPECT_NE(text.find(std::to_string(child->pid())), std::string::npos) << "own process group: " << text;

  pollfd p{child->pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);  // exit is visible through the pidfd
  auto status = child->try_reap();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  ::close(a);
  ::close(b);
  ::close(stray);
}

TEST(ChildProcessTest, TerminateEscalatesToSigkill) {
  SpawnSpec spec;
  spec.executable = "/bin/sh";
  spec.args = {"-c", "trap '' TERM; while :; do sleep 0.05; done"};
  spec.role = "stubborn child";
  auto child = ChildProcess::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().describe();
  ::usleep(100000);
  int status = child->terminate(std::chrono::milliseconds(200));
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_FALSE(child->running());
  EXPECT_EQ(ChildProcess::describe_status(status), "killed by signal KILL");
}

TEST(ChildProcessTest, MissingExecutableAndUnknownUserAreClearErrors) {
  SpawnSpec spec;
  spec.executable = "/nonexistent/uldd-driver";
  spec.role = "disk9 driver";
  auto missing = ChildProcess::spawn(spec);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().describe().find("disk9 driver: cannot start /nonexistent/uldd-driver"),
            std::string::npos)
      << missing.error().describe();
  spec.executable = "/bin/true";
  spec.user = "no-such-user-uldd";
  auto user = ChildProcess::spawn(spec);
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.error().message, "disk9 driver: unknown user 'no-such-user-uldd'");
}

// The child runs on the supervisor's memory until it execs (vfork): a setup
// step or an execve that fails in the child must come back as an error with
// its errno, leave no zombie, and leave this process working (an exit() in
// the child would have run our atexit handlers on our memory).
TEST(ChildProcessTest, FailureInTheChildIsAnErrorAndLeavesTheParentIntact) {
  SpawnSpec spec;
  spec.executable = "/bin/true";
  spec.role = "test child";
  spec.fds = {{5, 987}};  // not open here: F_DUPFD fails in the child
  auto bad_fd = ChildProcess::spawn(spec);
  ASSERT_FALSE(bad_fd.ok());
  EXPECT_EQ(bad_fd.error().code, EBADF) << bad_fd.error().describe();

  char path[] = "/tmp/uldd-child-noexec-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const char garbage[] = "\177ELF-garbage";  // executable bit, no valid format
  ASSERT_EQ(::write(fd, garbage, sizeof garbage), static_cast<ssize_t>(sizeof garbage));
  ::fchmod(fd, 0755);
  ::close(fd);
  spec.executable = path;
  spec.fds = {};
  auto no_exec = ChildProcess::spawn(spec);
  ::unlink(path);
  ASSERT_FALSE(no_exec.ok());
  EXPECT_EQ(no_exec.error().code, ENOEXEC) << no_exec.error().describe();

  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // both failed children were reaped
  EXPECT_EQ(errno, ECHILD);
  spec.executable = "/bin/true";
  auto ok = ChildProcess::spawn(spec);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  pollfd p{ok->pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  auto status = ok->try_reap();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

}  // namespace
}  // namespace uldd::supervisor
