#include "devices/e1000/tap_wire.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

namespace uldd::e1000 {
namespace {

Result<UniqueFd> create_tap(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return plain_error("TAP name '" + name + "' must have 1.." + std::to_string(IFNAMSIZ - 1) +
                       " characters");
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return errno_error("open(/dev/net/tun)");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return errno_error("TUNSETIFF(" + name + ")");
  // Up, so the peer side passes traffic as soon as it has an address.
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return errno_error("socket(AF_INET) for " + name);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0)
    return errno_error("SIOCGIFFLAGS(" + name + ")");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0)
    return errno_error("SIOCSIFFLAGS(" + name + ")");
  return fd;
}

}  // namespace

Result<UniqueFd> open_tap_wire(const std::string& name, const std::string& netns) {
  if (netns.empty()) return create_tap(name);
  UniqueFd own(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return errno_error("open(/proc/self/ns/net)");
  std::string path = "/run/netns/" + netns;
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid()) return errno_error("open(" + path + ")");
  if (::setns(target.get(), CLONE_NEWNET) != 0) return errno_error("setns(" + path + ")");
  auto tap = create_tap(name);
  if (::setns(own.get(), CLONE_NEWNET) != 0) return errno_error("setns(back to own netns)");
  return tap;
}

}  // namespace uldd::e1000
