// ProcessFault: the simplest class of injected fault — a signal delivered to
// a running driver process (crash by SIGKILL, SIGSEGV, SIGABRT or SIGBUS;
// hang by SIGSTOP, which the heartbeat watch turns into a "hung" restart).
// This file names them and checks an operator's request for one (from D-Bus
// InjectFault or a campaign file) before anything is done, so that a wrong
// name or a stray parameter is refused with a message saying what is wrong
// and which names exist. Delivery is the restart engine's (through the
// driver's pidfd, never a bare pid that may have been reused).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace uldd::faultinject {

struct ProcessFault {
  std::string name;  // "sigkill", ...
  int signal = 0;
  std::string effect;  // what the driver is expected to do: "crash", "hang"
};

// The process fault named `type` with no parameters, or EINVAL naming the
// unknown type (with the known ones) or the unexpected parameter. ENOENT:
// `type` is not a process fault at all (the caller may try other classes).
Result<ProcessFault> parse_process_fault(std::string_view type,
                                         const std::map<std::string, std::string>& params);

// Every process fault name, in a stable order.
std::vector<std::string> process_fault_types();

}  // namespace uldd::faultinject
