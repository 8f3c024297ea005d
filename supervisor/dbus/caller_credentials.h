// CallerCredentials: who sent a D-Bus method call (effective uid, supplementary
// groups, pid for the log), as the bus reports it. An interface so that the
// access check can be tested with made-up callers (a group member, a stranger)
// without creating users or groups on the test machine.
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <vector>

#include "common/result.h"

namespace uldd::dbus {

struct CallerIdentity {
  uid_t euid = 0;
  pid_t pid = 0;              // 0: unknown (only used in log lines)
  std::vector<gid_t> groups;  // supplementary groups
};

class CallerCredentials {
 public:
  virtual ~CallerCredentials() = default;
  virtual Result<CallerIdentity> identify(sd_bus_message* call) = 0;
};

// The real one: sd_bus_query_sender_creds. On a dbus-daemon bus the euid and
// pid come from the daemon (SO_PEERCRED at connect time). The supplementary
// groups come from the daemon's GetConnectionCredentials (UnixGroupIDs) when
// it reports them, else from /proc/<pid>/status (sd-bus's augmentation;
// libsystemd 252 does not read UnixGroupIDs itself). Short synchronous round
// trips to the bus daemon inside the method handler, mutating calls only.
class SdBusCallerCredentials final : public CallerCredentials {
 public:
  Result<CallerIdentity> identify(sd_bus_message* call) override;
};

}  // namespace uldd::dbus
