// ExitCode: ulddctl's exit statuses, and the one place where a failed call's
// D-Bus error name decides the status and the one-line message a user reads.
// Scripts branch on these numbers (docs/ulddctl.md documents them), so they
// never change meaning.
#pragma once

#include <string>
#include <string_view>

#include "ulddctl/call_result.h"

namespace uldd::ctl {

enum class ExitCode : int {
  kSuccess = 0,
  kFailed = 1,  // the operation was tried and failed (Error.Failed, NotSupported, timeouts, ...)
  kUsage = 2,   // bad command line, or the daemon refused an argument (InvalidArgs)
  kNoSuchDevice = 3,  // Error.NoSuchDevice (or no object for the device)
  kAccessDenied = 4,  // AccessDenied: neither root nor in the control group
  kNotRunning = 5,    // no bus, or nobody owns org.uldd.Supervisor1
  kInvalidState = 6,  // Error.InvalidState: e.g. start on a serving device
};

inline int as_int(ExitCode code) {
  return static_cast<int>(code);
}

ExitCode exit_code_for(std::string_view dbus_error_name);

// What the user asked for, so that the message can say it.
struct FailureContext {
  std::string verb;             // "restart", "list", ...
  std::string device;           // "" when the verb names no device
  std::string bus_description;  // "the system bus" | "the bus at unix:path=..."
};

// One line, "ulddctl: ..." without a trailing newline, e.g.
//   ulddctl: uldd-supervisor is not running (no owner of org.uldd.Supervisor1 on the system bus)
//   ulddctl: access denied: restart needs root or membership of group 'uldd'
//   ulddctl: no such device 'disk9'
std::string failure_line(const CallError& error, const FailureContext& context);

}  // namespace uldd::ctl
