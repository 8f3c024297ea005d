#include "ulddctl/exit_code.h"

#include <array>
#include <cctype>
#include <utility>

namespace uldd::ctl {
namespace {

// The table: every D-Bus error name ulddctl treats specially. Anything else
// (Error.Failed, NotSupported, NoReply, UnknownMethod of an older daemon, ...)
// is a failed operation.
constexpr std::array<std::pair<std::string_view, ExitCode>, 10> kExitCodeByErrorName{{
    {"org.uldd.Supervisor1.Error.NoSuchDevice", ExitCode::kNoSuchDevice},
    // A device's object path that the daemon does not serve: the same thing
    // seen from sd-bus's object tree.
    {"org.freedesktop.DBus.Error.UnknownObject", ExitCode::kNoSuchDevice},
    {"org.uldd.Supervisor1.Error.InvalidState", ExitCode::kInvalidState},
    {"org.freedesktop.DBus.Error.AccessDenied", ExitCode::kAccessDenied},
    {"org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", ExitCode::kAccessDenied},
    {"org.freedesktop.DBus.Error.InvalidArgs", ExitCode::kUsage},
    {"org.freedesktop.DBus.Error.ServiceUnknown", ExitCode::kNotRunning},
    {"org.freedesktop.DBus.Error.NameHasNoOwner", ExitCode::kNotRunning},
    // The daemon went away between our call and its reply.
    {"org.freedesktop.DBus.Error.Disconnected", ExitCode::kNotRunning},
    {kErrorNoBus, ExitCode::kNotRunning},
}};

// Who may do it: the supervisor's refusal names the group it checked
// ("... nor in group 'wheel'") or says root only ("... is not root", no
// control group configured); the documented default group otherwise.
std::string who_may(std::string_view message) {
  constexpr std::string_view kMarker = "group '";
  size_t start = message.find(kMarker);
  if (start == std::string_view::npos)
    return message.find("not root") != std::string_view::npos
               ? "root"
               : "root or membership of group 'uldd'";
  start += kMarker.size();
  size_t end = message.find('\'', start);
  if (end == std::string_view::npos || end == start) return "root or membership of group 'uldd'";
  return "root or membership of group '" + std::string(message.substr(start, end - start)) + "'";
}

std::string what_was_asked(const FailureContext& context) {
  return context.device.empty() ? context.verb : context.verb + " " + context.device;
}

}  // namespace

ExitCode exit_code_for(std::string_view dbus_error_name) {
  for (const auto& [name, code] : kExitCodeByErrorName)
    if (name == dbus_error_name) return code;
  return ExitCode::kFailed;
}

std::string failure_line(const CallError& raw_error, const FailureContext& context) {
  const std::string prefix = "ulddctl: ";
  // One line: some services end their messages with a newline.
  CallError error = raw_error;
  while (!error.message.empty() && std::isspace(static_cast<unsigned char>(error.message.back())))
    error.message.pop_back();
  for (char& c : error.message)
    if (c == '\n') c = ' ';
  switch (exit_code_for(error.name)) {
    case ExitCode::kNotRunning:
      if (error.name == kErrorNoBus)
        return prefix + "uldd-supervisor is not running (cannot connect to " +
               context.bus_description + ": " + error.message + ")";
      return prefix + "uldd-supervisor is not running (no owner of org.uldd.Supervisor1 on " +
             context.bus_description + ")";
    case ExitCode::kAccessDenied:
      return prefix + "access denied: " + context.verb + " needs " + who_may(error.message);
    case ExitCode::kNoSuchDevice:
      return prefix + "no such device '" + context.device + "'";
    case ExitCode::kInvalidState:
      return prefix + "cannot " + what_was_asked(context) + ": " + error.message;
    case ExitCode::kUsage:
      return prefix + what_was_asked(context) + ": invalid argument: " + error.message;
    case ExitCode::kSuccess:
    case ExitCode::kFailed:
      break;
  }
  return prefix + what_was_asked(context) + " failed: " + error.message + " (" + error.name + ")";
}

}  // namespace uldd::ctl
