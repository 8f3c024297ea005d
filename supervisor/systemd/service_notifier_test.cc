// ServiceNotifier against a real AF_UNIX datagram socket standing in for
// systemd's notify socket: the exact datagrams, a path and an abstract
// address, STATUS= de-duplication, and the watchdog interval from
// WATCHDOG_USEC / WATCHDOG_PID.
#include "supervisor/systemd/service_notifier.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "common/unique_fd.h"

namespace uldd::supervisor::systemd {
namespace {

using namespace std::chrono_literals;

// A bound datagram socket; `address` is what goes into NOTIFY_SOCKET.
struct Listener {
  UniqueFd fd;
  std::string address;

  static Listener bind_to(const std::string& address) {
    Listener l;
    l.address = address;
    l.fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    EXPECT_TRUE(l.fd.valid());
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, address.data(), address.size());
    if (address[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace, as sd_notify reads it
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
    EXPECT_EQ(::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), len), 0) << std::strerror(errno);
    return l;
  }

  // The next datagram, or nullopt if none arrives within `wait`.
  std::optional<std::string> next(std::chrono::milliseconds wait = 5s) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
};

class ServiceNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) ::unsetenv(v);
    dir_ =
        std::filesystem::temp_directory_path() / ("uldd-notify-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    for (const char* v : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) ::unsetenv(v);
    std::filesystem::remove_all(dir_);
  }
  Listener listen_on_path() {
    Listener l = Listener::bind_to((dir_ / "notify").string());
    ::setenv("NOTIFY_SOCKET", l.address.c_str(), 1);
    return l;
  }
  std::filesystem::path dir_;
};

TEST_F(ServiceNotifierTest, WithoutNotifySocketNothingIsSentAndNoWatchdog) {
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  auto n = ServiceNotifier::from_environment();
  EXPECT_FALSE(n->active());
  EXPECT_EQ(n->watchdog_ping_interval(), std::nullopt);
  n->ready("x");  // must not crash or block
  n->watchdog_ping();
}

TEST_F(ServiceNotifierTest, SendsTheExactMessagesToAPathSocket) {
  Listener l = listen_on_path();
  auto n = ServiceNotifier::from_environment();
  ASSERT_TRUE(n->active());
  n->extend_timeout(30s);
  EXPECT_EQ(l.next(), "EXTEND_TIMEOUT_USEC=30000000");
  n->ready("1/1 devices serving; disk0 serving");
  EXPECT_EQ(l.next(), "READY=1\nSTATUS=1/1 devices serving; disk0 serving");
  n->watchdog_ping();
  EXPECT_EQ(l.next(), "WATCHDOG=1");
  n->status("0/1 devices serving; disk0 recovering");
  EXPECT_EQ(l.next(), "STATUS=0/1 devices serving; disk0 recovering");
  n->stopping("stopping");
  EXPECT_EQ(l.next(), "STOPPING=1\nSTATUS=stopping");
  EXPECT_EQ(l.next(100ms), std::nullopt);
}

TEST_F(ServiceNotifierTest, SendsToAnAbstractSocket) {
  Listener l = Listener::bind_to("@uldd-notify-test-" + std::to_string(::getpid()));
  ::setenv("NOTIFY_SOCKET", l.address.c_str(), 1);
  auto n = ServiceNotifier::from_environment();
  n->ready("ok");
  EXPECT_EQ(l.next(), "READY=1\nSTATUS=ok");
}

TEST_F(ServiceNotifierTest, StatusIsSentOnlyWhenItChanges) {
  Listener l = listen_on_path();
  auto n = ServiceNotifier::from_environment();
  n->ready("a");
  EXPECT_EQ(l.next(), "READY=1\nSTATUS=a");
  n->status("a");  // same as READY's: nothing
  n->status("b");
  n->status("b");
  n->status("a");
  EXPECT_EQ(l.next(), "STATUS=b");
  EXPECT_EQ(l.next(), "STATUS=a");
  EXPECT_EQ(l.next(100ms), std::nullopt);
}

TEST_F(ServiceNotifierTest, StatusIsOneLine) {
  Listener l = listen_on_path();
  auto n = ServiceNotifier::from_environment();
  n->status("disk0 failed: line one\nREADY=1");
  EXPECT_EQ(l.next(), "STATUS=disk0 failed: line one READY=1");
}

TEST_F(ServiceNotifierTest, WatchdogIntervalIsHalfOfWatchdogUsecForOurPid) {
  Listener l = listen_on_path();
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  EXPECT_EQ(ServiceNotifier::from_environment()->watchdog_ping_interval(),
            std::chrono::microseconds(1'000'000));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(ServiceNotifier::from_environment()->watchdog_ping_interval(),
            std::chrono::microseconds(1'000'000));
  // Meant for another process: a driver that inherited the supervisor's
  // environment must not think the watchdog is its own.
  ::setenv("WATCHDOG_PID", std::to_string(::getppid()).c_str(), 1);
  EXPECT_EQ(ServiceNotifier::from_environment()->watchdog_ping_interval(), std::nullopt);
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(ServiceNotifier::from_environment()->watchdog_ping_interval(), std::nullopt);
}

TEST_F(ServiceNotifierTest, ASocketThatWentAwayIsNotFatal) {
  std::optional<Listener> l = listen_on_path();
  auto n = ServiceNotifier::from_environment();
  l.reset();
  std::filesystem::remove(dir_ / "notify");
  n->ready("x");
  n->status("y");
  n->watchdog_ping();
}

}  // namespace
}  // namespace uldd::supervisor::systemd
