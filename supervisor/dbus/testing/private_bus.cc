#include "supervisor/dbus/testing/private_bus.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "common/unique_fd.h"

extern char** environ;

namespace uldd::dbus::testing {

namespace {

// The configuration the tests need: a custom bus that lets every local user
// connect, own names, send and receive (the service's own access check is
// what is under test, not the bus policy).
std::string bus_config(const std::string& socket_path) {
  return "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
         " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
         "<busconfig><type>custom</type><listen>unix:path=" +
         socket_path +
         "</listen><auth>EXTERNAL</auth>"
         "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>"
         "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow "
         "receive_sender=\"*\"/></policy></busconfig>\n";
}

void stop_daemon(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<std::unique_ptr<PrivateBus>> PrivateBus::start() {
  char dir_template[] = "/tmp/uldd-dbus-test.XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return errno_error("mkdtemp(/tmp/uldd-dbus-test.XXXXXX)");
  const std::string directory = dir_template;
  // nobody must reach the socket: mkdtemp makes the directory 0700.
  if (chmod(directory.c_str(), 0755) != 0) return errno_error("chmod(" + directory + ")");
  const std::string socket_path = directory + "/bus";
  const std::string config_path = directory + "/bus.conf";
  std::ofstream(config_path) << bus_config(socket_path);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error("pipe2");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  const std::string config_arg = "--config-file=" + config_path;
  std::vector<char*> argv{const_cast<char*>("dbus-daemon"), const_cast<char*>(config_arg.c_str()),
                          const_cast<char*>("--print-address"), const_cast<char*>("--nofork"),
                          nullptr};
  pid_t pid = 0;
  const int r = posix_spawnp(&pid, "dbus-daemon", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (r != 0) return Error{r, "posix_spawnp(dbus-daemon)"};
  write_end.reset();

  // The daemon prints its address once it listens.
  std::string line;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    pollfd pfd{read_end.get(), POLLIN, 0};
    if (std::chrono::steady_clock::now() > give_up || poll(&pfd, 1, 1000) < 0) break;
    char buffer[256];
    const ssize_t n = read(read_end.get(), buffer, sizeof(buffer));
    if (n == 0) break;
    if (n > 0) line.append(buffer, static_cast<size_t>(n));
  }
  if (line.find('\n') == std::string::npos) {
    stop_daemon(pid);
    std::filesystem::remove_all(directory);
    return plain_error("dbus-daemon did not print its address");
  }
  if (chmod(socket_path.c_str(), 0777) != 0) {
    stop_daemon(pid);
    std::filesystem::remove_all(directory);
    return errno_error("chmod(" + socket_path + ")");
  }
  return std::unique_ptr<PrivateBus>(new PrivateBus(directory, pid, "unix:path=" + socket_path));
}

PrivateBus::~PrivateBus() {
  stop_daemon(pid_);
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

}  // namespace uldd::dbus::testing
