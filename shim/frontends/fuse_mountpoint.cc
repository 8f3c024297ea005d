#include "shim/frontends/fuse_mountpoint.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace uldd::shim {
namespace {

// Mount points in /proc/self/mountinfo escape space, tab, newline and
// backslash as \ooo.
std::string unescape_mount_path(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

bool fuse_mounted_at(const std::filesystem::path& path, bool resolve_symlinks) {
  // The kernel lists the path with symlinks resolved.
  std::error_code ec;
  std::filesystem::path resolved =
      resolve_symlinks ? std::filesystem::weakly_canonical(path, ec) : path;
  if (ec) resolved = path;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options ... - fstype source ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype.rfind("fuse", 0) == 0 && unescape_mount_path(mount_point) == resolved.string()) {
      return true;
    }
  }
  return false;
}

Status prepare_fuse_mountpoint(const std::filesystem::path& path) {
  struct stat st {};
  for (int attempt = 0;; ++attempt) {
    if (::stat(path.c_str(), &st) == 0) break;
    const int err = errno;
    if ((err == ENOTCONN || err == ECONNABORTED) && attempt < 8) {
      // The daemon of a previous run died with the file mounted.
      spdlog::warn("fuse: stale mount on {}; detaching it", path.string());
      if (::umount2(path.c_str(), MNT_DETACH) != 0) {
        return errno_error("umount2(stale FUSE mount " + path.string() + ")");
      }
      continue;
    }
    if (err != ENOENT) return Error{err, "stat(" + path.string() + ")"};
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error("create mount point " + path.string());
    ::close(fd);
  }
  if (S_ISDIR(st.st_mode)) {
    return Error{EISDIR, "mount point " + path.string() + " must be a regular file"};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{EINVAL, "mount point " + path.string() + " is not a regular file"};
  }
  if (fuse_mounted_at(path)) {
    return Error{EBUSY, "a live FUSE filesystem is already mounted on " + path.string()};
  }
  return {};
}

}  // namespace uldd::shim
