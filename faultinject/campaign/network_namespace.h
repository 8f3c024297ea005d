// NetworkNamespace: a named network namespace (/run/netns/NAME, made and
// removed with `ip netns`, as scripts/netns-rig.sh does) that a campaign
// creates for a NIC's two sides — the host side with the shim's TAP, the
// wire side with the device model's TAP and the echo peer — and deletes on
// every path, by destruction. Plus what the runner does in them without
// leaving its own namespace: run `ip -n NAME ...`, and open a UDP socket
// that lives in NAME (a short-lived thread enters it; the thread that asked
// never changes namespace).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd::campaign {

// Runs argv[0] (a path, or a name found in /usr/sbin, /sbin, /usr/bin,
// /bin) and waits for it (at most 10 s); an error names the command, its
// exit status and the first line of its stderr.
Status run_command(const std::vector<std::string>& argv);

class NetworkNamespace {
 public:
  // `ip netns add NAME`; refuses a NAME that exists already (another run's).
  static Result<NetworkNamespace> create(const std::string& name);
  NetworkNamespace() = default;
  ~NetworkNamespace() { remove(); }
  NetworkNamespace(NetworkNamespace&& o) noexcept;
  NetworkNamespace& operator=(NetworkNamespace&& o) noexcept;
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }
  // `ip netns del NAME` (interfaces still in it go with it). Idempotent.
  void remove();

 private:
  std::string name_;
};

// A UDP socket in network namespace `netns` (non-blocking, close-on-exec),
// bound to bind_ip:bind_port (0 = any port) and, if connect_ip is not
// empty, connected to connect_ip:connect_port.
Result<UniqueFd> udp_socket_in(const std::string& netns, const std::string& bind_ip,
                               uint16_t bind_port, const std::string& connect_ip = "",
                               uint16_t connect_port = 0);

}  // namespace uldd::campaign
