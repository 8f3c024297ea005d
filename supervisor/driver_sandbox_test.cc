// The driver sandbox holds: uldd-hostile-driver, run as user nobody like a
// real driver, is stopped by seccomp (death by SIGSYS) or by permissions
// (its attempt fails with an error) for every escape it tries — and the same
// attempts WITHOUT the sandbox do succeed where permissions alone do not stop
// them, so these tests can fail. The allow-list lets dynamic C++ programs
// (the hostile driver, the real NVMe driver) start, abort() still dies by
// SIGABRT, limits show in /proc/<pid>/limits, and the child joins its cgroup
// before exec where cgroup v2 exists.
#include "supervisor/driver_sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "supervisor/child_process.h"

namespace uldd::supervisor {
namespace {

const std::filesystem::path kBin = ULDD_BIN_DIR;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;  // the allow-list lets LeakSanitizer ptrace (EPERM for others)
#else
constexpr bool kAsan = false;
#endif

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

SpawnSpec hostile(const std::string& attempt, bool sandboxed) {
  SpawnSpec spec;
  spec.executable = kBin / "uldd-hostile-driver";
  spec.args = {"--attempt=" + attempt};
  spec.user = "nobody";
  spec.role = "hostile driver (" + attempt + ")";
  if (sandboxed) spec.sandbox = SandboxSpec{};
  return spec;
}

// Spawns and waits for the exit; returns the wait status.
int run(const SpawnSpec& spec) {
  auto child = ChildProcess::spawn(spec);
  EXPECT_TRUE(child.ok()) << child.error().describe();
  if (!child.ok()) return -1;
  pollfd p{child->pidfd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 30000), 1) << spec.role << " did not exit";
  return child->terminate(std::chrono::milliseconds(100));
}

bool killed_by_seccomp(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}
bool exited(int status, int code) {
  return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

class DriverSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (drivers switch to user nobody)";
  }
};

TEST(SeccompProgramTest, CompilesWithTheOwnTgidSlot) {
  static const char kPath[] = "/bin/true";
  auto prog = SeccompProgram::compile_driver_allow_list(kPath);
  ASSERT_TRUE(prog.ok()) << prog.error().describe();
  EXPECT_GT(prog->instruction_count(), 50u);
  EXPECT_GE(prog->own_tgid_slot_count(), 1u);
  prog->patch_own_tgid(4242);
  size_t patched = 0;
  for (const sock_filter& ins : prog->instructions()) {
    EXPECT_NE(ins.k, kOwnTgidPlaceholder);
    if (ins.k == 4242u) ++patched;
  }
  EXPECT_GE(patched, prog->own_tgid_slot_count());
}

// A figure, not an assertion: compiling happens on every driver (re)start,
// inside the restart engine's downtime.
TEST(SeccompProgramTest, PrintsCompileCost) {
  static const char kPath[] = "/bin/true";
  constexpr int kRounds = 200;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i)
    ASSERT_TRUE(SeccompProgram::compile_driver_allow_list(kPath).ok());
  auto us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  std::printf("FIGURE seccomp_compile_us=%.1f (mean of %d)\n", us / kRounds, kRounds);
}

TEST(DescribeStatusTest, SigsysIsNamedAsSeccomp) {
  EXPECT_EQ(ChildProcess::describe_status(SIGSYS),
            "killed by seccomp (SIGSYS)");  // wait status of a signal death
  EXPECT_EQ(ChildProcess::describe_status(SIGKILL), "killed by signal KILL");
}

TEST_F(DriverSandboxTest, EveryAttemptIsStopped) {
  // What stops each attempt under the sandbox. open-shadow: permissions
  // (the loader needs read-only opens); everything else: seccomp.
  struct Case {
    const char* attempt;
    bool by_seccomp;
  };
  for (Case c : {Case{"open-shadow", false}, Case{"socket", true}, Case{"ptrace-parent", !kAsan},
                 Case{"kill-parent", true}, Case{"tgkill-parent", true}, Case{"write-file", true},
                 Case{"exec-shell", true}, Case{"fork", true}, Case{"all", true},
                 Case{"sigkill-parent", true}, Case{"write-parent-memory", true}}) {
    int status = run(hostile(c.attempt, true));
    EXPECT_FALSE(exited(status, 0)) << c.attempt << " ESCAPED the sandbox";
    if (c.by_seccomp) {
      EXPECT_TRUE(killed_by_seccomp(status))
          << c.attempt << ": " << ChildProcess::describe_status(status);
    } else {
      EXPECT_TRUE(exited(status, 10)) << c.attempt << ": " << ChildProcess::describe_status(status);
    }
  }
}

TEST_F(DriverSandboxTest, WithoutTheSandboxTheSameAttemptsSucceed) {
  // Proof that the test above can fail: as nobody with no_new_privs but no
  // filter, these get through — only seccomp stops them.
  for (const char* attempt : {"socket", "fork", "write-file", "exec-shell"}) {
    int status = run(hostile(attempt, false));
    EXPECT_TRUE(exited(status, 0))
        << attempt << " without the sandbox: " << ChildProcess::describe_status(status);
  }
  // And what permissions alone stop, they stop.
  EXPECT_TRUE(exited(run(hostile("open-shadow", false)), 10));
  EXPECT_TRUE(exited(run(hostile("ptrace-parent", false)), 10));
  EXPECT_TRUE(exited(run(hostile("write-parent-memory", false)), 10));
  EXPECT_TRUE(exited(run(hostile("sigkill-parent", false)), 10));  // nobody cannot signal root
}

TEST_F(DriverSandboxTest, DynamicCppProgramsStartAndAbortStillAborts) {
  EXPECT_TRUE(exited(run(hostile("none", true)), 0))
      << "loader + libstdc++ + CLI11 start-up under the filter";
  int status = run(hostile("abort", true));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)
      << ChildProcess::describe_status(status);

  // The real NVMe driver, without its fds: spdlog, CLI11 and its fd checks
  // run, and it refuses to start (exit 3) instead of dying by SIGSYS.
  SpawnSpec real;
  real.executable = kBin / "uldd-nvme-driver";
  real.args = {"--uio=emulated", "--device", "sandbox-test"};
  real.user = "nobody";
  real.role = "nvme driver without fds";
  real.sandbox = SandboxSpec{};
  status = run(real);
  EXPECT_TRUE(exited(status, 3)) << ChildProcess::describe_status(status);
}

TEST_F(DriverSandboxTest, LimitsAndFilterShowInProc) {
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  SpawnSpec spec = hostile("idle", true);
  spec.sandbox->limits.memory_bytes = kAsan ? 0 : uint64_t{1} << 30;
  spec.sandbox->limits.open_files = 32;
  spec.fds = {{1, out[1]}};
  auto child = ChildProcess::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().describe();
  ::close(out[1]);
  char ready[6] = {};
  ASSERT_EQ(::read(out[0], ready, sizeof ready), 6) << "idle driver did not start";
  ::close(out[0]);
  std::string proc = "/proc/" + std::to_string(child->pid());
  std::string limits = slurp(proc + "/limits");
  EXPECT_NE(limits.find("Max open files            32                   32"), std::string::npos)
      << limits;
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos)
      << limits;
  if (!kAsan) {
    EXPECT_NE(limits.find("Max address space         1073741824           1073741824"),
              std::string::npos)
        << limits;
  }
  std::string status = slurp(proc + "/status");
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;  // SECCOMP_MODE_FILTER
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  EXPECT_NE(status.find("Uid:\t65534"), std::string::npos) << status;
  int st = child->terminate(std::chrono::milliseconds(1000));
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) << ChildProcess::describe_status(st);
}

TEST_F(DriverSandboxTest, ChildJoinsItsCgroupBeforeExec) {
  std::filesystem::path root;
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
    if (DriverCgroup::is_cgroup2(candidate)) {
      root = candidate;
      break;
    }
  if (root.empty()) GTEST_SKIP() << "no cgroup v2 mount";
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  SpawnSpec spec = hostile("idle", true);
  spec.role = "sandbox test " + std::to_string(::getpid());
  spec.sandbox->cgroup_root = root;
  spec.sandbox->limits.cpu_percent = 50;  // applied only where the cpu controller is
  spec.fds = {{1, out[1]}};
  auto child = ChildProcess::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().describe();
  ::close(out[1]);
  char ready[6] = {};
  ASSERT_EQ(::read(out[0], ready, sizeof ready), 6);
  ::close(out[0]);
  std::string leaf = DriverCgroup::leaf_name(spec.role);
  std::filesystem::path dir = root / "uldd.slice" / leaf;
  std::string cg = slurp("/proc/" + std::to_string(child->pid()) + "/cgroup");
  EXPECT_NE(cg.find("0::/uldd.slice/" + leaf + "\n"), std::string::npos) << cg;
  EXPECT_NE(slurp(dir / "cgroup.procs").find(std::to_string(child->pid())), std::string::npos);
  if (std::filesystem::exists(dir / "cpu.max")) {
    EXPECT_EQ(slurp(dir / "cpu.max"), "50000 100000\n");
  }
  child->terminate(std::chrono::milliseconds(1000));
  EXPECT_FALSE(std::filesystem::exists(dir)) << "leaf removed once the driver is reaped";
  ::rmdir((root / "uldd.slice").c_str());  // leave the host as found (fails harmlessly if in use)
}

}  // namespace
}  // namespace uldd::supervisor
