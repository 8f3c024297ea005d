// DriverCgroup: a cgroup v2 leaf for one driver process, so that its CPU use
// can be capped (cpu.max) and accounted (cpu.stat) apart from the supervisor.
//
// The driver must never run an instruction outside its cgroup, so it joins
// itself: the supervisor creates <root>/uldd.slice/<leaf>/, writes cpu.max,
// and opens the leaf's cgroup.procs; the child, between fork and exec and
// still as root, writes "0" (= the writing process) into that fd. This is
// race-free (the move happens before the driver's code exists) without
// clone3(CLONE_INTO_CGROUP), which Boost.Process's fork-based launcher cannot
// use. Hosts without a cgroup v2 mount at the root (v1 or hybrid layouts) or
// without the cpu controller get no cap; SandboxLaunch logs a warning.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd::supervisor {

class DriverCgroup {
 public:
  // Fails (with a reason to log) when `root` is not a writable cgroup v2
  // mount. cpu_percent == 0 leaves cpu.max alone; > 0 needs the cpu
  // controller ("100" = one whole CPU, "50" = half of one, "200" = two).
  static Result<DriverCgroup> create(const std::filesystem::path& root, const std::string& leaf,
                                     uint32_t cpu_percent);

  // True when `root` is a cgroup2 filesystem.
  static bool is_cgroup2(const std::filesystem::path& root);
  // "disk0 driver" -> "disk0-driver": a safe single path component.
  static std::string leaf_name(const std::string& role);

  DriverCgroup() = default;
  DriverCgroup(DriverCgroup&&) = default;
  DriverCgroup& operator=(DriverCgroup&&) = default;

  const std::filesystem::path& dir() const { return dir_; }
  bool cpu_capped() const { return cpu_capped_; }
  // Why cpu_percent could not be applied ("" when it was, or was 0).
  const std::string& cpu_cap_problem() const { return cpu_cap_problem_; }

  // In the child after (v)fork, before setuid: moves the calling process
  // into the leaf and closes the child's copy of the fd (this object is left
  // as it is: after vfork it is the supervisor's). Returns 0 or an errno
  // value. Async-signal-safe.
  int join_in_child() noexcept;

  // After the driver has been reaped: removes the (then empty) leaf. Best
  // effort; a leaf still in use by a newer driver of the same role stays.
  static void remove(const std::filesystem::path& dir);

 private:
  std::filesystem::path dir_;
  UniqueFd procs_fd_;  // <dir>/cgroup.procs, opened for writing by the supervisor
  bool cpu_capped_ = false;
  std::string cpu_cap_problem_;
};

}  // namespace uldd::supervisor
