// Device object paths: /org/uldd/Supervisor1/device/<name>, the name escaped
// with sd_bus_path_encode so that any configured device name gives a valid
// object path ("disk0" stays "disk0", "a-b" becomes "a_2db").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace uldd::dbus {

std::string device_object_path(std::string_view device_name);
// The device name of a path below the device prefix; nullopt for any other path.
std::optional<std::string> device_name_of_path(const char* path);

}  // namespace uldd::dbus
