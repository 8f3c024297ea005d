#include "supervisor/dbus/caller_credentials.h"

#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace uldd::dbus {

namespace {

struct CredsUnref {
  void operator()(sd_bus_creds* creds) const { sd_bus_creds_unref(creds); }
};
struct MessageUnref {
  void operator()(sd_bus_message* message) const { sd_bus_message_unref(message); }
};

// The groups the bus daemon recorded when the sender connected
// (GetConnectionCredentials' UnixGroupIDs: SO_PEERGROUPS in dbus-daemon >=
// 1.11.8 and dbus-broker), which the sender cannot change afterwards.
// nullopt when the bus does not report them.
std::optional<std::vector<gid_t>> groups_from_bus(sd_bus_message* call) {
  const char* sender = sd_bus_message_get_sender(call);
  if (sender == nullptr) return std::nullopt;
  sd_bus_message* raw = nullptr;
  if (sd_bus_call_method(sd_bus_message_get_bus(call), "org.freedesktop.DBus",
                         "/org/freedesktop/DBus", "org.freedesktop.DBus",
                         "GetConnectionCredentials", nullptr, &raw, "s", sender) < 0)
    return std::nullopt;
  std::unique_ptr<sd_bus_message, MessageUnref> reply(raw);
  if (sd_bus_message_enter_container(raw, 'a', "{sv}") <= 0) return std::nullopt;
  while (sd_bus_message_enter_container(raw, 'e', "sv") > 0) {
    const char* key = nullptr;
    if (sd_bus_message_read(raw, "s", &key) < 0) return std::nullopt;
    if (std::strcmp(key, "UnixGroupIDs") != 0) {
      if (sd_bus_message_skip(raw, "v") < 0 || sd_bus_message_exit_container(raw) < 0)
        return std::nullopt;
      continue;
    }
    std::vector<gid_t> groups;
    if (sd_bus_message_enter_container(raw, 'v', "au") <= 0 ||
        sd_bus_message_enter_container(raw, 'a', "u") <= 0)
      return std::nullopt;
    uint32_t gid = 0;
    int r = 0;
    while ((r = sd_bus_message_read_basic(raw, 'u', &gid)) > 0) groups.push_back(gid);
    if (r < 0) return std::nullopt;
    return groups;
  }
  return std::nullopt;
}

}  // namespace

Result<CallerIdentity> SdBusCallerCredentials::identify(sd_bus_message* call) {
  // AUGMENT: libsystemd 252 does not read UnixGroupIDs from the bus, so
  // without it there would be no supplementary groups at all; with it sd-bus
  // reads them from /proc/<pid>/status, used only when the bus has none.
  sd_bus_creds* raw = nullptr;
  int r = sd_bus_query_sender_creds(
      call,
      SD_BUS_CREDS_EUID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_PID | SD_BUS_CREDS_AUGMENT,
      &raw);
  if (r < 0) {
    const char* sender = sd_bus_message_get_sender(call);
    return Error{
        -r, "sd_bus_query_sender_creds(" + std::string(sender != nullptr ? sender : "?") + ")"};
  }
  std::unique_ptr<sd_bus_creds, CredsUnref> creds(raw);

  CallerIdentity identity;
  // The euid must come from the bus (never from /proc, which the sender could
  // race): refuse to guess when it is missing.
  if ((sd_bus_creds_get_augmented_mask(creds.get()) & SD_BUS_CREDS_EUID) != 0)
    return Error{EACCES, "the caller's euid is not known from the bus"};
  r = sd_bus_creds_get_euid(creds.get(), &identity.euid);
  if (r < 0) return Error{-r, "sd_bus_creds_get_euid"};
  if (sd_bus_creds_get_pid(creds.get(), &identity.pid) < 0) identity.pid = 0;
  if (identity.euid == 0) return identity;  // root needs no groups

  if (std::optional<std::vector<gid_t>> groups = groups_from_bus(call)) {
    identity.groups = std::move(*groups);
    return identity;
  }
  const gid_t* gids = nullptr;
  r = sd_bus_creds_get_supplementary_gids(creds.get(), &gids);
  // No groups known (e.g. the sender exited before /proc was read): a
  // non-root caller is then refused, which is the safe side.
  if (r > 0) identity.groups.assign(gids, gids + r);
  return identity;
}

}  // namespace uldd::dbus
