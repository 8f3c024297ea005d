#include "supervisor/systemd/service_notifier.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace uldd::supervisor::systemd {
namespace {

// STATUS= is one line: a newline would end the assignment and start a bogus
// one in the datagram.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

class NullNotifier final : public ServiceNotifier {
 public:
  bool active() const override { return false; }
  void ready(std::string_view) override {}
  void status(std::string_view) override {}
  void extend_timeout(std::chrono::microseconds) override {}
  void stopping(std::string_view) override {}
  void watchdog_ping() override {}
  std::optional<std::chrono::microseconds> watchdog_ping_interval() const override {
    return std::nullopt;
  }
};

class SdNotifier final : public ServiceNotifier {
 public:
  SdNotifier() {
    uint64_t usec = 0;
    // unset_environment = 0: the fd store and tests read it too. Returns > 0
    // only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is our pid.
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
      interval_ = std::chrono::microseconds(usec / 2);
  }

  bool active() const override { return true; }

  void ready(std::string_view status) override {
    last_status_ = one_line(status);
    send("READY=1\nSTATUS=" + *last_status_);
  }
  void status(std::string_view line) override {
    std::string s = one_line(line);
    if (s == last_status_) return;
    last_status_ = s;
    send("STATUS=" + s);
  }
  void extend_timeout(std::chrono::microseconds more) override {
    send("EXTEND_TIMEOUT_USEC=" + std::to_string(more.count() > 0 ? more.count() : 0));
  }
  void stopping(std::string_view status) override {
    last_status_ = one_line(status);
    send("STOPPING=1\nSTATUS=" + *last_status_);
  }
  void watchdog_ping() override { send("WATCHDOG=1"); }
  std::optional<std::chrono::microseconds> watchdog_ping_interval() const override {
    return interval_;
  }

 private:
  void send(const std::string& message) {
    int r = sd_notify(0, message.c_str());
    if (r > 0) return;
    if (!warned_) {
      warned_ = true;
      // r == 0: NOTIFY_SOCKET vanished from the environment meanwhile.
      spdlog::warn("sd_notify({}): {}; further failures are not logged",
                   message.substr(0, message.find('\n')),
                   r == 0 ? "NOTIFY_SOCKET is no longer set" : std::strerror(-r));
    }
  }

  std::optional<std::chrono::microseconds> interval_;
  std::optional<std::string> last_status_;  // the last STATUS= sent
  bool warned_ = false;
};

}  // namespace

std::unique_ptr<ServiceNotifier> ServiceNotifier::from_environment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return null();
  return std::make_unique<SdNotifier>();
}

std::unique_ptr<ServiceNotifier> ServiceNotifier::null() {
  return std::make_unique<NullNotifier>();
}

}  // namespace uldd::supervisor::systemd
