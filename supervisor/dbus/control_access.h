// ControlAccess: who may change things through the D-Bus API. Reading is open
// to whoever the bus policy lets in; mutating calls (Reload, SetLogLevel,
// Restart, Stop, Start, InjectFault) need euid 0 or membership of the
// configured control group (docs/dbus-api.md, "Access control"). The group's
// gid is looked up once at start: a group that does not exist means root only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "supervisor/dbus/caller_credentials.h"

namespace uldd::dbus {

class ControlAccess {
 public:
  // Resolves `group_name` with getgrnam_r ("" = root only; a missing group
  // is logged as a warning and also means root only).
  static ControlAccess for_group(const std::string& group_name);
  ControlAccess(std::string group_name, std::optional<gid_t> group_gid)
      : group_name_(std::move(group_name)), group_gid_(group_gid) {}

  // Ok, or EACCES with a message naming the uid, the action and the rule.
  Status authorize(const CallerIdentity& caller, std::string_view action) const;

  const std::string& group_name() const { return group_name_; }
  std::optional<gid_t> group_gid() const { return group_gid_; }

 private:
  std::string group_name_;
  std::optional<gid_t> group_gid_;
};

}  // namespace uldd::dbus
