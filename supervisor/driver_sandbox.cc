#include "supervisor/driver_sandbox.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>

namespace uldd::supervisor {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

// A missing cgroup v2 is a property of the host, not of one spawn: say it
// once, not on every driver restart.
std::atomic<bool> g_cgroup_warned{false};

}  // namespace

DriverLimits driver_limits(const policies::ResourceLimits& limits) {
  DriverLimits d;
  d.memory_bytes = limits.memory_bytes;
  d.cpu_percent = limits.cpu_percent;
  d.open_files = limits.open_files;
  d.core_dumps = limits.core_dumps;
  return d;
}

SandboxSpec sandbox_for(const policies::ResourceLimits& limits) {
  SandboxSpec spec;
  spec.limits = driver_limits(limits);
  return spec;
}

Result<SandboxLaunch> SandboxLaunch::prepare(const SandboxSpec& spec, const std::string& role,
                                             const char* exec_path) {
  SandboxLaunch launch;
  launch.exec_path_ = exec_path;
  auto prog = SeccompProgram::compile_driver_allow_list(exec_path);
  if (!prog) return Error{prog.error().code, role + ": " + prog.error().message};
  launch.seccomp_ = std::move(prog.value());

  const DriverLimits& lim = spec.limits;
  // Soft == hard: the driver cannot raise them again (that needs
  // CAP_SYS_RESOURCE, which user nobody with no_new_privs never gets).
  auto add = [&](int resource, rlim_t value) {
    launch.limits_[launch.limit_count_++] = {resource, {value, value}};
  };
  if (lim.memory_bytes > 0) {
    if (kAddressSanitizer)
      spdlog::warn("{}: memory limit {} bytes not applied: AddressSanitizer build", role,
                   lim.memory_bytes);
    else
      add(RLIMIT_AS, lim.memory_bytes);
  }
  if (lim.open_files > 0) add(RLIMIT_NOFILE, lim.open_files);
  if (!lim.core_dumps) add(RLIMIT_CORE, 0);

  if (DriverCgroup::is_cgroup2(spec.cgroup_root)) {
    auto cg = DriverCgroup::create(spec.cgroup_root, role, lim.cpu_percent);
    if (!cg) return Error{cg.error().code, role + ": cgroup: " + cg.error().message};
    launch.cgroup_ = std::move(cg.value());
    if (lim.cpu_percent > 0 && !launch.cgroup_.cpu_capped())
      spdlog::warn("{}: CPU quota {}% not applied: {}", role, lim.cpu_percent,
                   launch.cgroup_.cpu_cap_problem());
  } else if (lim.cpu_percent > 0 && !g_cgroup_warned.exchange(true)) {
    spdlog::warn(
        "{}: CPU quota {}% not applied: {} is not a cgroup v2 mount (drivers run without a CPU "
        "cap)",
        role, lim.cpu_percent, spec.cgroup_root.string());
  }
  return launch;
}

int SandboxLaunch::join_cgroup_in_child() noexcept {
  return cgroup_.join_in_child();
}

int SandboxLaunch::apply_limits_in_child() noexcept {
  for (int i = 0; i < limit_count_; ++i)
    if (::setrlimit(limits_[i].resource, &limits_[i].value) != 0) return errno;
  return 0;
}

int SandboxLaunch::install_seccomp_in_child() noexcept {
  seccomp_.patch_own_tgid(::getpid());
  return seccomp_.install_in_child();
}

}  // namespace uldd::supervisor
