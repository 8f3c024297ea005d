#include "faultinject/process_fault.h"

#include <signal.h>

#include <array>
#include <cerrno>

namespace uldd::faultinject {
namespace {

struct Entry {
  std::string_view name;
  int signal;
  std::string_view effect;
};

constexpr std::array<Entry, 5> kProcessFaults{{
    {"sigkill", SIGKILL, "crash"},
    {"sigsegv", SIGSEGV, "crash"},
    {"sigabrt", SIGABRT, "crash"},
    {"sigbus", SIGBUS, "crash"},
    {"sigstop", SIGSTOP, "hang"},
}};

}  // namespace

Result<ProcessFault> parse_process_fault(std::string_view type,
                                         const std::map<std::string, std::string>& params) {
  for (const Entry& e : kProcessFaults) {
    if (e.name != type) continue;
    if (!params.empty())
      return Error{EINVAL, "fault '" + std::string(type) + "' takes no parameters; got '" +
                               params.begin()->first + "'"};
    return ProcessFault{std::string(e.name), e.signal, std::string(e.effect)};
  }
  return Error{ENOENT, "'" + std::string(type) + "' is not a process fault"};
}

std::vector<std::string> process_fault_types() {
  std::vector<std::string> out;
  for (const Entry& e : kProcessFaults) out.emplace_back(e.name);
  return out;
}

}  // namespace uldd::faultinject
