#include "shim/frontends/tap_frontend.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

namespace uldd::shim {
namespace {

// Runs `body` inside network namespace `netns` on this thread, then returns
// the thread to the namespace it was in. setns(CLONE_NEWNET) is per thread, so
// other threads of the supervisor never see the switch.
template <class Body>
auto in_netns(const std::string& netns, Body body) -> decltype(body()) {
  if (netns.empty()) return body();
  UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home.valid()) return errno_error("open(/proc/thread-self/ns/net)");
  std::string path = "/run/netns/" + netns;
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid())
    return errno_error("open(" + path + ") (create it with `ip netns add " + netns + "`)");
  if (::setns(target.get(), CLONE_NEWNET) != 0) return errno_error("setns(" + path + ")");
  auto result = body();
  if (::setns(home.get(), CLONE_NEWNET) != 0) std::abort();  // cannot run on in the wrong namespace
  return result;
}

Status set_up(const std::string& ifname, const std::string& mac) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return errno_error("socket(AF_INET) for " + ifname);
  ifreq ifr{};
  if (!mac.empty()) {
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    unsigned o[6];
    if (std::sscanf(mac.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x", &o[0], &o[1], &o[2], &o[3], &o[4],
                    &o[5]) != 6)
      return plain_error("TAP " + ifname + ": bad MAC '" + mac + "'");
    for (int i = 0; i < 6; ++i) ifr.ifr_hwaddr.sa_data[i] = static_cast<char>(o[i]);
    if (::ioctl(sock.get(), SIOCSIFHWADDR, &ifr) != 0)
      return errno_error("SIOCSIFHWADDR(" + ifname + ")");
    ifr = ifreq{};
  }
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0)
    return errno_error("SIOCGIFFLAGS(" + ifname + ")");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0)
    return errno_error("SIOCSIFFLAGS(" + ifname + ", up)");
  return {};
}

}  // namespace

Result<std::unique_ptr<TapFrontend>> TapFrontend::open(const std::string& ifname,
                                                       const std::string& netns,
                                                       const std::string& mac) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ)
    return plain_error("TAP name '" + ifname + "' is not 1..15 bytes");
  return in_netns(netns, [&]() -> Result<std::unique_ptr<TapFrontend>> {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open(/dev/net/tun)");
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return errno_error("TUNSETIFF(" + ifname + ")");
    ULDD_TRY(set_up(ifname, mac));
    return std::unique_ptr<TapFrontend>(new TapFrontend(std::move(fd), ifname, netns));
  });
}

Result<std::unique_ptr<TapFrontend>> TapFrontend::adopt(UniqueFd fd, const std::string& ifname,
                                                        const std::string& netns) {
  ifreq ifr{};
  if (::ioctl(fd.get(), TUNGETIFF, &ifr) != 0)
    return errno_error("TUNGETIFF(adopted fd for " + ifname + ")");
  if ((ifr.ifr_flags & IFF_TAP) == 0 || (ifr.ifr_flags & IFF_NO_PI) == 0)
    return plain_error("adopted fd for " + ifname + " is not a TAP without packet info");
  if (ifname != ifr.ifr_name)
    return plain_error("adopted TAP is " + std::string(ifr.ifr_name) + ", the configuration says " +
                       ifname);
  // The shim reads until EAGAIN: the open file description must stay
  // non-blocking (it is the one open() made, but a stored fd is not ours).
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return errno_error("fcntl(O_NONBLOCK, " + ifname + ")");
  return in_netns(netns, [&]() -> Result<std::unique_ptr<TapFrontend>> {
    ULDD_TRY(set_up(ifname, ""));
    return std::unique_ptr<TapFrontend>(new TapFrontend(std::move(fd), ifname, netns));
  });
}

Status TapFrontend::set_carrier(bool on) {
  int carrier = on ? 1 : 0;
  if (::ioctl(fd_.get(), TUNSETCARRIER, &carrier) != 0)
    return errno_error("TUNSETCARRIER(" + ifname_ + ")");
  return {};
}

}  // namespace uldd::shim
