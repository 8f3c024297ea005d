// uldd-dbus-policy-probe: plays both sides of packaging/dbus/
// org.uldd.Supervisor1.conf against a private dbus-daemon (dbus_policy.sh):
//
//   uldd-dbus-policy-probe own ADDRESS    request org.uldd.Supervisor1; on
//       success print "owned" and answer org.uldd.Supervisor1.Manager
//       .GetMetrics on /org/uldd/Supervisor1 until stdin closes (or 60 s);
//       on refusal print the D-Bus error name and exit 1
//   uldd-dbus-policy-probe call ADDRESS   call that method; print the reply
//       ("# EOF") or the D-Bus error name and exit 1
//
// sd-bus, as the supervisor itself uses it, so the bus sees the same kind
// of client.
#include <poll.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

constexpr const char* kName = "org.uldd.Supervisor1";
constexpr const char* kPath = "/org/uldd/Supervisor1";
constexpr const char* kInterface = "org.uldd.Supervisor1.Manager";

int get_metrics(sd_bus_message* m, void*, sd_bus_error*) {
  return sd_bus_reply_method_return(m, "s", "# EOF");
}

const sd_bus_vtable kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("GetMetrics", "", "s", get_metrics, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

sd_bus* connect_bus(const char* address) {
  sd_bus* bus = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address);
  if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
  if (r >= 0) r = sd_bus_start(bus);
  if (r < 0) {
    std::fprintf(stderr, "connect %s: %s\n", address, std::strerror(-r));
    return nullptr;
  }
  return bus;
}

int own(sd_bus* bus) {
  sd_bus_slot* slot = nullptr;
  if (sd_bus_add_object_vtable(bus, &slot, kPath, kInterface, kVtable, nullptr) < 0) return 2;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  // org.freedesktop.DBus.RequestName directly, to see the daemon's error name.
  int r =
      sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                         "org.freedesktop.DBus", "RequestName", &error, &reply, "su", kName, 0u);
  if (r < 0) {
    std::printf("%s\n", error.name != nullptr ? error.name : std::strerror(-r));
    sd_bus_error_free(&error);
    sd_bus_slot_unref(slot);
    return 1;
  }
  sd_bus_message_unref(reply);
  std::printf("owned\n");
  std::fflush(stdout);
  for (int waited_ms = 0; waited_ms < 60'000;) {
    while ((r = sd_bus_process(bus, nullptr)) > 0) {
    }
    if (r < 0) break;
    pollfd fds[2] = {{sd_bus_get_fd(bus), static_cast<short>(sd_bus_get_events(bus)), 0},
                     {0, POLLIN, 0}};
    ::poll(fds, 2, 100);
    waited_ms += 100;
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char c;
      if (::read(0, &c, 1) <= 0) break;
    }
  }
  sd_bus_slot_unref(slot);
  return r < 0 ? 2 : 0;
}

int call(sd_bus* bus) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus, kName, kPath, kInterface, "GetMetrics", &error, &reply, "");
  if (r < 0) {
    std::printf("%s\n", error.name != nullptr ? error.name : std::strerror(-r));
    sd_bus_error_free(&error);
    return 1;
  }
  const char* text = nullptr;
  r = sd_bus_message_read(reply, "s", &text);
  if (r >= 0) std::printf("%s\n", text);
  sd_bus_message_unref(reply);
  return r < 0 ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "own") != 0 && std::strcmp(argv[1], "call") != 0)) {
    std::fprintf(stderr, "usage: %s own|call ADDRESS\n", argv[0]);
    return 2;
  }
  sd_bus* bus = connect_bus(argv[2]);
  if (bus == nullptr) return 2;
  int status = std::strcmp(argv[1], "own") == 0 ? own(bus) : call(bus);
  sd_bus_flush_close_unref(bus);
  return status;
}
