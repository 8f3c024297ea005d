// TapFrontend: the kernel's view of a uldd NIC. A TAP netdev (IFF_TAP |
// IFF_NO_PI, so one read() is exactly one Ethernet frame and one write() sends
// one) whose fd the NetShim reads straight into DMA packet buffers: the one
// copy on the way to the device. Optionally created inside a named network
// namespace (/run/netns/NAME, as `ip netns add` makes them): the creating
// thread enters it just for the open and the ioctls and goes back, so the TAP
// lives there while the supervisor stays where it is.
//
// The TAP is the host's netdev for the NIC, so it carries the device's MAC
// (as the kernel's e1000 driver gives its netdev the MAC from the EEPROM):
// the host stack then sources frames from, and its peers address frames to,
// the station address the device's receive filter accepts (RAL0/RAH0). The
// interface is brought up (IFF_UP) here; addresses are the rig's or the
// administrator's business. set_carrier(false) marks it NO-CARRIER,
// which is how a failed device looks to the host stack.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd::shim {

class TapFrontend {
 public:
  // Creates (or attaches to a persistent) TAP `ifname`, non-blocking, gives
  // it `mac` ("52:54:00:12:34:56"; "" = keep the kernel's random one) and sets
  // it up. `netns` = "" means the caller's namespace.
  static Result<std::unique_ptr<TapFrontend>> open(const std::string& ifname,
                                                   const std::string& netns,
                                                   const std::string& mac = "");
  // Takes over the TAP fd a previous supervisor left in the fd store
  // (docs/fd-store.md): TUNGETIFF must name a TAP `ifname`. The netdev never
  // went away (the stored fd kept it), so its ifindex, addresses and routes
  // are what they were; it is only set up again, in `netns`.
  static Result<std::unique_ptr<TapFrontend>> adopt(UniqueFd fd, const std::string& ifname,
                                                    const std::string& netns);
  ~TapFrontend() = default;

  int fd() const { return fd_.get(); }
  const std::string& ifname() const { return ifname_; }
  const std::string& netns() const { return netns_; }
  // Link carrier as the host stack sees it (TUNSETCARRIER).
  Status set_carrier(bool on);

 private:
  TapFrontend(UniqueFd fd, std::string ifname, std::string netns)
      : fd_(std::move(fd)), ifname_(std::move(ifname)), netns_(std::move(netns)) {}

  UniqueFd fd_;
  std::string ifname_;
  std::string netns_;
};

}  // namespace uldd::shim
