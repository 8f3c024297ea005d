// The one place where uldd's errno-style Status codes (the SupervisorControl
// seam's ENOENT/EINVAL/EBUSY/ENOTSUP/EIO, and EACCES from the access check)
// become the D-Bus error names of docs/dbus-api.md. Every method handler
// returns through here, so a caller sees the same name for the same failure
// whichever method it called.
#pragma once

#include <systemd/sd-bus.h>

#include "common/result.h"

namespace uldd::dbus {

// The D-Bus error name for an Error's code (unknown codes: ...Error.Failed).
const char* bus_error_name(const Error& error);

// Fills `bus_error` with the name and the Error's message and returns the
// negative errno sd-bus expects a failed handler to return.
int set_bus_error(sd_bus_error* bus_error, const Error& error);

}  // namespace uldd::dbus
