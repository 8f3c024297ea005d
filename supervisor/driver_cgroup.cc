#include "supervisor/driver_cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fstream>

namespace uldd::supervisor {
namespace {

// cgroup v2 control files take one write each; a short write is a failure.
Status write_control(const std::filesystem::path& file, const std::string& text) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + file.string());
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error("write '" + text + "' to " + file.string());
  return {};
}

Status make_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_error("mkdir " + dir.string());
  return {};
}

bool lists_controller(const std::filesystem::path& file, const std::string& controller) {
  std::ifstream in(file);
  std::string word;
  while (in >> word)
    if (word == controller) return true;
  return false;
}

// Makes the cpu controller available to the children of `parent`.
Status enable_cpu_below(const std::filesystem::path& parent) {
  if (lists_controller(parent / "cgroup.subtree_control", "cpu")) return {};
  return write_control(parent / "cgroup.subtree_control", "+cpu");
}

}  // namespace

bool DriverCgroup::is_cgroup2(const std::filesystem::path& root) {
  struct statfs fs {};
  return ::statfs(root.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

std::string DriverCgroup::leaf_name(const std::string& role) {
  std::string leaf;
  for (char c : role) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.';
    leaf.push_back(plain ? c : '-');
  }
  if (leaf.empty() || leaf[0] == '.') leaf.insert(0, "driver");
  return leaf;
}

Result<DriverCgroup> DriverCgroup::create(const std::filesystem::path& root,
                                          const std::string& leaf, uint32_t cpu_percent) {
  if (!is_cgroup2(root)) return plain_error(root.string() + " is not a cgroup v2 mount");
  std::filesystem::path slice = root / "uldd.slice";
  ULDD_TRY(make_dir(slice));
  DriverCgroup cg;
  cg.dir_ = slice / leaf_name(leaf);
  ULDD_TRY(make_dir(cg.dir_));
  if (cpu_percent > 0) {
    // cpu.max = "<quota> <period>" in microseconds: percent of one CPU per
    // 100 ms period.
    Status capped = [&]() -> Status {
      if (!lists_controller(root / "cgroup.controllers", "cpu"))
        return plain_error("the cpu controller is not available in " + root.string() +
                           " (bound to a cgroup v1 hierarchy?)");
      ULDD_TRY(enable_cpu_below(root));
      ULDD_TRY(enable_cpu_below(slice));
      return write_control(cg.dir_ / "cpu.max",
                           std::to_string(uint64_t{cpu_percent} * 1000) + " 100000");
    }();
    cg.cpu_capped_ = capped.ok();
    if (!capped) cg.cpu_cap_problem_ = capped.error().describe();
  }
  cg.procs_fd_.reset(::open((cg.dir_ / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!cg.procs_fd_.valid()) return errno_error("open " + (cg.dir_ / "cgroup.procs").string());
  return cg;
}

int DriverCgroup::join_in_child() noexcept {
  if (!procs_fd_.valid()) return 0;
  int err = 0;
  if (::write(procs_fd_.get(), "0", 1) != 1) err = errno;
  // Closes the child's copy only: after vfork this object is the
  // supervisor's memory, whose UniqueFd still closes the supervisor's copy.
  ::close(procs_fd_.get());
  return err;
}

void DriverCgroup::remove(const std::filesystem::path& dir) {
  if (!dir.empty()) ::rmdir(dir.c_str());
}

}  // namespace uldd::supervisor
