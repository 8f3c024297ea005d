#include "supervisor/dbus/device_object_path.h"

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <memory>

#include "supervisor/dbus/bus_names.h"

namespace uldd::dbus {

namespace {
struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
}  // namespace

std::string device_object_path(std::string_view device_name) {
  char* raw = nullptr;
  // Fails only on allocation failure; the prefix is a valid path.
  if (sd_bus_path_encode(kDevicePathPrefix, std::string(device_name).c_str(), &raw) < 0) return {};
  std::unique_ptr<char, FreeDeleter> path(raw);
  return path.get();
}

std::optional<std::string> device_name_of_path(const char* path) {
  if (path == nullptr) return std::nullopt;
  char* raw = nullptr;
  // Returns 0 when the path is not directly below the prefix.
  if (sd_bus_path_decode(path, kDevicePathPrefix, &raw) <= 0 || raw == nullptr) return std::nullopt;
  std::unique_ptr<char, FreeDeleter> name(raw);
  if (name.get()[0] == '\0') return std::nullopt;
  return std::string(name.get());
}

}  // namespace uldd::dbus
