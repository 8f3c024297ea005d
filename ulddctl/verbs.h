// Verbs: what each ulddctl verb does once the command line is parsed — call
// the supervisor through SupervisorClient, print with human_format or
// json_format, and turn a failure into its exit status and one line on
// stderr (exit_code.h). main.cc only parses and dispatches.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ulddctl/exit_code.h"
#include "ulddctl/supervisor_client.h"

namespace uldd::ctl {

struct OutputOptions {
  bool json = false;
  bool legend = true;  // --no-legend clears it
};

class Verbs {
 public:
  Verbs(SupervisorClient& client, OutputOptions output, std::ostream& out, std::ostream& err)
      : client_(client), output_(output), out_(out), err_(err) {}

  ExitCode status(const std::string& device);  // "" = supervisor and every device
  ExitCode list();
  // verb: "restart" | "stop" | "start"; every device is tried, the first
  // failure's status is returned.
  ExitCode device_action(const std::string& verb, const std::vector<std::string>& devices);
  ExitCode reload();
  ExitCode inject(const std::string& device, const std::string& type,
                  const std::map<std::string, std::string>& params);
  ExitCode fault_types();
  // count 0: no limit; timeout zero: none. Ends with kFailed when the timeout
  // passes before `count` events came.
  ExitCode events(uint64_t count, std::chrono::milliseconds timeout,
                  const std::function<bool()>& interrupted);
  ExitCode metrics();
  ExitCode log_level(const std::optional<std::string>& new_level);

 private:
  ExitCode fail(const CallError& error, const std::string& verb, const std::string& device = "");

  SupervisorClient& client_;
  OutputOptions output_;
  std::ostream& out_;
  std::ostream& err_;
};

// The bus address ulddctl talks to: --address (a bare socket path is taken
// as unix:path=), else $ULDD_BUS_ADDRESS unless --system, else "" (the
// system bus).
std::string choose_bus_address(const std::string& address_option, bool system_option,
                               const char* env_address);

}  // namespace uldd::ctl
