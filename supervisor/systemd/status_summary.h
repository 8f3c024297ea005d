// status_summary: the one line the supervisor shows as its systemd STATUS=
// (what `systemctl status uldd` prints under "Status:"), made from the same
// DeviceSnapshots the D-Bus API shows, e.g.
//   "2/2 devices serving; disk0 serving, 3 restarts; nic0 serving"
//   "1/2 devices serving; disk0 serving; nic0 recovering, 1 restart"
//   "0/1 devices serving; disk0 failed: policy exhausted (last: killed by SIGKILL)"
// A failed device carries its last fault (cut to a readable length); the
// line never contains a newline.
#pragma once

#include <string>
#include <vector>

#include "supervisor/control/device_snapshot.h"

namespace uldd::supervisor::systemd {

std::string status_summary(const std::vector<DeviceSnapshot>& devices);

}  // namespace uldd::supervisor::systemd
