#include "supervisor/systemd/fd_checks.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace uldd::supervisor::systemd {
namespace {

std::string fd_target(int fd) {
  char buf[256] = {};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("?");
}

Error mismatch(const std::string& what, int fd, const std::string& wanted) {
  return plain_error(what + " (fd " + std::to_string(fd) + "): expected " + wanted + ", found " +
                     fd_target(fd));
}

}  // namespace

Status check_memfd(int fd, uint64_t size, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(what + ": fstat");
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (!S_ISREG(st.st_mode) || seals < 0) return mismatch(what, fd, "a memfd");
  if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
    return mismatch(what, fd, "a memfd sealed against resizing");
  if (static_cast<uint64_t>(st.st_size) != size)
    return plain_error(what + ": memfd is " + std::to_string(st.st_size) +
                       " bytes, the configuration needs " + std::to_string(size));
  return {};
}

Status check_eventfd(int fd, const std::string& what) {
  if (fd_target(fd) != "anon_inode:[eventfd]") return mismatch(what, fd, "an eventfd");
  return {};
}

Status check_fuse_device(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(what + ": fstat");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(10, 229))
    return mismatch(what, fd, "/dev/fuse");
  return {};
}

Status check_pipe(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(what + ": fstat");
  if (!S_ISFIFO(st.st_mode)) return mismatch(what, fd, "a pipe");
  return {};
}

Status check_listening_unix_socket(int fd, const std::string& what) {
  int domain = 0, listening = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX)
    return mismatch(what, fd, "an AF_UNIX socket");
  len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0)
    return mismatch(what, fd, "a listening socket");
  return {};
}

Status check_tap(int fd, const std::string& ifname, const std::string& what) {
  ifreq ifr{};
  if (::ioctl(fd, TUNGETIFF, &ifr) != 0) return mismatch(what, fd, "a TAP (/dev/net/tun)");
  if ((ifr.ifr_flags & IFF_TAP) == 0) return mismatch(what, fd, "a TAP, not a TUN");
  if (ifname != ifr.ifr_name)
    return plain_error(what + ": TAP is attached to " + std::string(ifr.ifr_name) +
                       ", the configuration says " + ifname);
  return {};
}

}  // namespace uldd::supervisor::systemd
