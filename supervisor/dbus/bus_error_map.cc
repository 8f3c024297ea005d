#include "supervisor/dbus/bus_error_map.h"

#include <cerrno>
#include <cstring>

#include "supervisor/dbus/bus_names.h"

namespace uldd::dbus {

const char* bus_error_name(const Error& error) {
  switch (error.code) {
    case ENOENT:
      return kErrorNoSuchDevice;
    case EINVAL:
      return kErrorInvalidArgs;
    case EBUSY:
      return kErrorInvalidState;
    case ENOTSUP:  // == EOPNOTSUPP on Linux
      return kErrorNotSupported;
    case EACCES:
    case EPERM:
      return kErrorAccessDenied;
    default:  // EIO and anything a future control call may return
      return kErrorFailed;
  }
}

int set_bus_error(sd_bus_error* bus_error, const Error& error) {
  // The seam's messages already say what failed; strerror only when there is none.
  const std::string message = !error.message.empty()
                                  ? error.message
                                  : std::string(std::strerror(error.code != 0 ? error.code : EIO));
  const int r = sd_bus_error_set(bus_error, bus_error_name(error), message.c_str());
  // sd_bus_error_set returns -errno derived from the name; make sure a handler
  // never returns 0 (success) for a failure.
  return r < 0 ? r : -EIO;
}

}  // namespace uldd::dbus
