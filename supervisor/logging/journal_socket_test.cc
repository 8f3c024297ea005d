// The one real journal test: the supervisor's JournalSink with the real
// writer (sd_journal_sendv) really sends journald's native protocol to
// /run/systemd/journal/socket. A child process enters a private mount
// namespace, mounts a tmpfs where journald's socket lives (so the host's
// journal, if any, never sees the test), binds an AF_UNIX datagram socket
// there, logs through the sink under ScopedLogFields, and passes every
// datagram it receives back through a pipe; the parent decodes the native
// protocol (KEY=value\n, or KEY\n + 64-bit little-endian length + bytes + \n
// for values with newlines) and checks the fields. Needs root (mount).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "supervisor/logging/journal_sink.h"
#include "supervisor/logging/log_fields.h"

namespace uldd::supervisor::logging {
namespace {

using Entry = std::multimap<std::string, std::string>;

// journald's native protocol (systemd.journal-fields(7), "Native Protocol").
bool decode_native(const std::string& d, Entry* out) {
  size_t pos = 0;
  while (pos < d.size()) {
    size_t nl = d.find('\n', pos);
    if (nl == std::string::npos) return false;
    std::string line = d.substr(pos, nl - pos);
    size_t eq = line.find('=');
    if (eq != std::string::npos) {
      out->emplace(line.substr(0, eq), line.substr(eq + 1));
      pos = nl + 1;
      continue;
    }
    // Binary-safe form: NAME\n, le64 size, data, \n.
    if (nl + 1 + 8 > d.size()) return false;
    uint64_t size = 0;
    for (int i = 7; i >= 0; --i)
      size = (size << 8) | static_cast<unsigned char>(d[nl + 1 + static_cast<size_t>(i)]);
    size_t data = nl + 1 + 8;
    if (data + size + 1 > d.size() || d[data + size] != '\n') return false;
    out->emplace(line, d.substr(data, size));
    pos = data + size + 1;
  }
  return true;
}

bool write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// In the child: returns the exit status (0 = datagrams sent back).
int child_main(int out_fd) {
  if (::unshare(CLONE_NEWNS) != 0) return 10;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
  // Over journald's own directory when the host has one, else over /run
  // (private to this namespace either way).
  struct stat st {};
  const char* over = ::stat("/run/systemd/journal", &st) == 0 ? "/run/systemd/journal" : "/run";
  if (::mount("tmpfs", over, "tmpfs", 0, "mode=0755") != 0) return 12;
  ::mkdir("/run/systemd", 0755);
  ::mkdir("/run/systemd/journal", 0755);
  int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, "/run/systemd/journal/socket");
  if (sock < 0 || ::bind(sock, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return 13;

  auto sink = std::make_shared<JournalSink>(real_journal_writer(), "uldd-supervisor");
  spdlog::logger logger("journal-test", sink);
  {
    ScopedLogFields device{{"DEVICE", "disk0"}, {"DRIVER_PID", "4242"}};
    logger.error("disk0: driver (pid 4242) killed by SIGKILL [crashed]; holding requests");
    ScopedLogFields event{{"EVENT", "recovered"}, {"DOWNTIME_US", "1234"}};
    logger.info("first line\nsecond line");
  }
  for (int i = 0; i < 2; ++i) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return 14;
    std::string buf(1 << 16, '\0');
    ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n <= 0) return 15;
    uint32_t len = static_cast<uint32_t>(n);
    if (!write_all(out_fd, &len, sizeof len) || !write_all(out_fd, buf.data(), len)) return 16;
  }
  return 0;
}

TEST(JournalSocketTest, SdJournalSendvDeliversTheFieldsToJournaldsSocket) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a private mount namespace)";
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    ::_exit(child_main(pipe_fds[1]));
  }
  ::close(pipe_fds[1]);
  std::string all;
  char buf[8192];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;)
    all.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0)
      << "child failed at step " << WEXITSTATUS(status)
      << " (10 unshare, 11-12 mount, 13 bind, 14-15 nothing received)";

  std::vector<Entry> entries;
  for (size_t pos = 0; pos + 4 <= all.size();) {
    uint32_t len = 0;
    std::memcpy(&len, all.data() + pos, 4);
    Entry e;
    ASSERT_TRUE(decode_native(all.substr(pos + 4, len), &e)) << "not the native protocol";
    entries.push_back(std::move(e));
    pos += 4 + len;
  }
  ASSERT_EQ(entries.size(), 2u);
  auto one = [](const Entry& e, const std::string& key) {
    EXPECT_EQ(e.count(key), 1u) << key;
    auto it = e.find(key);
    return it == e.end() ? std::string("<missing>") : it->second;
  };
  EXPECT_EQ(one(entries[0], "MESSAGE"),
            "disk0: driver (pid 4242) killed by SIGKILL [crashed]; holding requests");
  EXPECT_EQ(one(entries[0], "PRIORITY"), "3");
  EXPECT_EQ(one(entries[0], "SYSLOG_IDENTIFIER"), "uldd-supervisor");
  EXPECT_EQ(one(entries[0], "DEVICE"), "disk0");
  EXPECT_EQ(one(entries[0], "DRIVER_PID"), "4242");
  EXPECT_EQ(entries[0].count("EVENT"), 0u);

  EXPECT_EQ(one(entries[1], "MESSAGE"), "first line\nsecond line");  // the binary-safe form
  EXPECT_EQ(one(entries[1], "PRIORITY"), "6");
  EXPECT_EQ(one(entries[1], "DEVICE"), "disk0");
  EXPECT_EQ(one(entries[1], "EVENT"), "recovered");
  EXPECT_EQ(one(entries[1], "DOWNTIME_US"), "1234");
}

}  // namespace
}  // namespace uldd::supervisor::logging
