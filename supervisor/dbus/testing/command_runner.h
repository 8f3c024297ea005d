// run_command: runs a shell command line (busctl, dbus-send, setpriv ...) and
// returns its exit status and everything it printed, for tests that check
// the API as command-line clients see it.
#pragma once

#include <string>

namespace uldd::dbus::testing {

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr together
};

CommandResult run_command(const std::string& command_line);

// Single-quotes `text` for a shell command line.
std::string shell_quote(const std::string& text);

}  // namespace uldd::dbus::testing
