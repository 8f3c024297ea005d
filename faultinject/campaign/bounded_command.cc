// run_bounded, program_path: see bounded_command.h.
#include "faultinject/campaign/bounded_command.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "faultinject/campaign/spawned_process.h"

namespace uldd::campaign {

namespace {
constexpr size_t kKeptOutput = 64 * 1024;
constexpr std::chrono::milliseconds kGrace{3000};
}  // namespace

bool CommandResult::ok() const {
  return !timed_out && !cancelled && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string CommandResult::status_text() const {
  return timed_out ? "timed out" : cancelled ? "cancelled" : describe_wait_status(wait_status);
}

std::string CommandResult::describe() const {
  std::string what = status_text();
  std::string last;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) last = line;
  return last.empty() ? what : what + ": " + last;
}

std::string program_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = std::string(dir) + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

Result<CommandResult> run_bounded(const std::vector<std::string>& argv,
                                  const std::filesystem::path& log,
                                  std::chrono::milliseconds timeout,
                                  const std::atomic<bool>* cancel) {
  if (argv.empty()) return plain_error("run_bounded: no command");
  std::vector<std::string> args = argv;
  args[0] = program_path(argv[0]);
  if (args[0].empty()) return plain_error("cannot run " + argv[0] + ": not installed");
  std::error_code ec;
  std::filesystem::remove(log, ec);
  auto p = SpawnedProcess::spawn(args, log);
  if (!p) return p.error();
  CommandResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (p->running()) {
    if (cancel != nullptr && cancel->load()) {
      r.cancelled = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // A child stuck in D state (FUSE) cannot be reaped: the SpawnedProcess
  // destructor tries once more; the status then stays "killed".
  const pid_t group = p->pid();  // the child leads its own process group
  std::optional<int> status = p->stop(kGrace);
  // What it forked (fio's job processes) must not outlive it, also when it
  // needed SIGKILL and could not end them itself.
  if (group > 0) ::kill(-group, SIGKILL);
  r.wait_status = status.value_or(SIGKILL);
  std::ifstream in(log, std::ios::binary);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  r.output = out.size() > kKeptOutput ? out.substr(out.size() - kKeptOutput) : out;
  return r;
}

}  // namespace uldd::campaign
