// Support for the frontends' e2e-disk tests, which drive the real kernel and
// real tools (dd, fio, losetup, mkfs.ext4, nbdinfo, nbdcopy, qemu-img): run a
// shell command with a time bound and capture its output, and RAII guards
// that undo mounts, loop devices and temp directories even when an
// assertion fails half-way.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace uldd::shim::testing {

struct CommandResult {
  int status = -1;     // exit status, or -1 if it did not exit normally
  std::string output;  // stdout and stderr
};

// Runs `command` through sh with a 300 s bound (coreutils timeout).
inline CommandResult run(const std::string& command) {
  CommandResult result;
  std::string quoted;
  for (char c : command) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  const std::string wrapped = "timeout 300 sh -c '" + quoted + "' 2>&1";
  FILE* pipe = ::popen(wrapped.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int rc = ::pclose(pipe);
  result.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return result;
}

inline bool have_tool(const std::string& tool) {
  return run("command -v " + tool + " >/dev/null").status == 0;
}

// Skips the current test unless we are root with /dev/fuse.
#define ULDD_REQUIRE_ROOT_AND_FUSE()                                                \
  do {                                                                              \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount, losetup)";            \
    if (!std::filesystem::exists("/dev/fuse")) GTEST_SKIP() << "no /dev/fuse here"; \
  } while (0)

#define ULDD_REQUIRE_TOOL(tool)                                                               \
  do {                                                                                        \
    if (!::uldd::shim::testing::have_tool(tool)) GTEST_SKIP() << tool << " is not installed"; \
  } while (0)

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "uldd-fe-e2e-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Lazily unmounts `path` on scope exit (if still mounted).
class MountGuard {
 public:
  explicit MountGuard(std::filesystem::path path) : path_(std::move(path)) {}
  ~MountGuard() {
    if (!path_.empty()) ::umount2(path_.c_str(), MNT_DETACH);
  }
  void release() { path_.clear(); }

 private:
  std::filesystem::path path_;
};

// Detaches a loop device on scope exit.
class LoopGuard {
 public:
  explicit LoopGuard(std::string device) : device_(std::move(device)) {}
  ~LoopGuard() {
    if (!device_.empty()) run("losetup -d " + device_);
  }
  const std::string& device() const { return device_; }

 private:
  std::string device_;
};

}  // namespace uldd::shim::testing
