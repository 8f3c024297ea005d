// The names of the D-Bus API (docs/dbus-api.md) in one place, so that the
// service, its tests and ulddctl cannot drift apart on a spelling. Version 1:
// a change that breaks a caller gets new names (Supervisor2), additions do not.
#pragma once

namespace uldd::dbus {

inline constexpr const char* kServiceName = "org.uldd.Supervisor1";
inline constexpr const char* kManagerPath = "/org/uldd/Supervisor1";
// Device objects live below this prefix; the last element is the device name
// escaped with sd_bus_path_encode ("disk0" stays "disk0").
inline constexpr const char* kDevicePathPrefix = "/org/uldd/Supervisor1/device";
inline constexpr const char* kManagerInterface = "org.uldd.Supervisor1.Manager";
inline constexpr const char* kDeviceInterface = "org.uldd.Supervisor1.Device";

inline constexpr const char* kErrorNoSuchDevice = "org.uldd.Supervisor1.Error.NoSuchDevice";
inline constexpr const char* kErrorInvalidState = "org.uldd.Supervisor1.Error.InvalidState";
inline constexpr const char* kErrorNotSupported = "org.uldd.Supervisor1.Error.NotSupported";
inline constexpr const char* kErrorFailed = "org.uldd.Supervisor1.Error.Failed";
// Standard names the API also uses.
inline constexpr const char* kErrorInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
inline constexpr const char* kErrorAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";

}  // namespace uldd::dbus
