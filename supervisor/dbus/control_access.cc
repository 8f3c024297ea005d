#include "supervisor/dbus/control_access.h"

#include <grp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace uldd::dbus {

namespace {

// getgrnam_r with a buffer that grows until the entry fits (large groups).
std::optional<gid_t> lookup_group_gid(const std::string& name, int* lookup_errno) {
  long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<size_t>(hint) : 4096);
  for (;;) {
    group entry{};
    group* found = nullptr;
    const int r = getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (r == ERANGE && buffer.size() < (1u << 24)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    *lookup_errno = r;
    if (r != 0 || found == nullptr) return std::nullopt;
    return found->gr_gid;
  }
}

}  // namespace

ControlAccess ControlAccess::for_group(const std::string& group_name) {
  if (group_name.empty()) {
    spdlog::info("D-Bus: no control group configured; mutating calls are for root only");
    return ControlAccess(group_name, std::nullopt);
  }
  int lookup_errno = 0;
  const std::optional<gid_t> gid = lookup_group_gid(group_name, &lookup_errno);
  if (!gid) {
    spdlog::warn("D-Bus: control group '{}' {}; mutating calls are for root only", group_name,
                 lookup_errno != 0
                     ? std::string("could not be looked up: ") + std::strerror(lookup_errno)
                     : std::string("does not exist"));
  }
  return ControlAccess(group_name, gid);
}

Status ControlAccess::authorize(const CallerIdentity& caller, std::string_view action) const {
  if (caller.euid == 0) return {};
  if (group_gid_ &&
      std::find(caller.groups.begin(), caller.groups.end(), *group_gid_) != caller.groups.end())
    return {};
  std::string rule =
      group_gid_ ? "neither root nor in group '" + group_name_ + "'" : std::string("not root");
  if (!group_gid_ && !group_name_.empty())
    rule += " (control group '" + group_name_ + "' does not exist)";
  return Error{
      EACCES, std::string(action) + " refused: uid " + std::to_string(caller.euid) + " is " + rule};
}

}  // namespace uldd::dbus
