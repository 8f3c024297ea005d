#include "supervisor/systemd/process_identity.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace uldd::supervisor::systemd {

std::optional<ProcessIdentity> ProcessIdentity::of(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and ')'; fields after
  // the last ')' are plain. State is field 3, start time field 22.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22; ++i) {
    if (!(rest >> field)) return std::nullopt;
    if (i == 3 && (field == "Z" || field == "X")) return std::nullopt;  // dead already
  }
  uint64_t start = 0;
  if (!(rest >> start)) return std::nullopt;
  return ProcessIdentity{pid, start};
}

std::optional<UniqueFd> open_if_same_process(const ProcessIdentity& recorded) {
  auto before = ProcessIdentity::of(recorded.pid);
  if (!before || before->start_ticks != recorded.start_ticks) return std::nullopt;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, recorded.pid, 0)));
  if (!pidfd.valid()) return std::nullopt;
  auto after = ProcessIdentity::of(recorded.pid);
  if (!after || after->start_ticks != recorded.start_ticks) return std::nullopt;
  return pidfd;
}

}  // namespace uldd::supervisor::systemd
