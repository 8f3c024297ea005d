// SupervisorClient::follow_events: the one long-lived call, kept apart from
// the request/reply calls in supervisor_client.cc.
#include <systemd/sd-bus.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "ulddctl/supervisor_client.h"

namespace uldd::ctl {
namespace {

struct SlotUnref {
  void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using Slot = std::unique_ptr<sd_bus_slot, SlotUnref>;

struct FollowState {
  const std::function<bool(const BusEvent&)>* on_event = nullptr;
  bool handler_done = false;
  bool owner_gone = false;
};

uint64_t realtime_now_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// Decodes one manager signal; a signal whose arguments do not match the
// contract is passed over rather than ending the stream.
int on_manager_signal(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
  auto* state = static_cast<FollowState*>(userdata);
  if (state->handler_done) return 0;
  const char* member_name = sd_bus_message_get_member(m);
  std::string_view member = member_name ? member_name : "";
  BusEvent event;
  event.received_realtime_us = realtime_now_us();
  const char *device = nullptr, *a = nullptr, *b = nullptr;
  int r = -EINVAL;
  if (member == "DeviceStateChanged") {
    event.kind = BusEvent::Kind::kDeviceStateChanged;
    r = sd_bus_message_read(m, "sssu", &device, &a, &b, &event.driver_pid);
    if (r >= 0) event.old_state = a, event.new_state = b;
  } else if (member == "Recovered") {
    event.kind = BusEvent::Kind::kRecovered;
    int standby = 0;
    r = sd_bus_message_read(m, "sssbuuttu", &device, &a, &b, &standby, &event.old_pid,
                            &event.new_pid, &event.detect_to_serving_us, &event.downtime_us,
                            &event.resent);
    if (r >= 0) event.cause = a, event.mode = b, event.standby = standby != 0;
  } else if (member == "FaultInjected") {
    event.kind = BusEvent::Kind::kFaultInjected;
    r = sd_bus_message_read(m, "sss", &device, &a, &b);
    if (r >= 0) event.fault = a, event.detail = b;
  } else {
    return 0;
  }
  if (r < 0) return 0;
  event.device = device;
  if (!(*state->on_event)(event)) state->handler_done = true;
  return 0;
}

int on_name_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
  if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
  if (std::string_view(name) == kBusName && new_owner[0] == '\0')
    static_cast<FollowState*>(userdata)->owner_gone = true;
  return 0;
}

CallError to_call_error(sd_bus_error* error, int r, std::string_view what) {
  if (sd_bus_error_is_set(error)) return {error->name, error->message ? error->message : ""};
  std::string message = std::string(what) + ": " + std::strerror(-r);
  if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
    return {SD_BUS_ERROR_DISCONNECTED, message};
  return {SD_BUS_ERROR_FAILED, message};
}

}  // namespace

CallResult<SupervisorClient::FollowEnd> SupervisorClient::follow_events(
    const std::function<void()>& subscribed, const std::function<bool(const BusEvent&)>& on_event,
    std::chrono::milliseconds timeout, const std::function<bool()>& interrupted) {
  FollowState state;
  state.on_event = &on_event;
  const std::string signals_rule =
      std::string("type='signal',sender='") + kBusName + "',interface='" + kManagerInterface + "'";
  const std::string owner_rule =
      std::string(
          "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
          "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='") +
      kBusName + "'";
  // sd_bus_add_match waits for the bus daemon's reply, so no signal sent
  // after it returns is missed.
  sd_bus_slot* raw_slot = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  int r = sd_bus_add_match(bus_, &raw_slot, owner_rule.c_str(), on_name_owner_changed, &state);
  Slot owner_slot(raw_slot);
  if (r < 0) return to_call_error(&error, r, "AddMatch");
  r = sd_bus_add_match(bus_, &raw_slot, signals_rule.c_str(), on_manager_signal, &state);
  Slot signals_slot(raw_slot);
  if (r < 0) return to_call_error(&error, r, "AddMatch");

  // Subscribed first, then asked: a daemon that stops in between is seen by
  // the NameOwnerChanged match.
  r = sd_bus_call_method(bus_, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                         "org.freedesktop.DBus", "GetNameOwner", &error, nullptr, "s", kBusName);
  if (r < 0) {
    CallError failure = to_call_error(&error, r, "GetNameOwner");
    sd_bus_error_free(&error);
    return failure;
  }
  if (subscribed) subscribed();

  const bool has_deadline = timeout.count() > 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (state.handler_done) return FollowEnd::kHandlerDone;
    if (state.owner_gone)
      return CallError{SD_BUS_ERROR_NAME_HAS_NO_OWNER, "uldd-supervisor left the bus"};
    if (interrupted && interrupted()) return FollowEnd::kInterrupted;
    uint64_t wait_us = UINT64_MAX;
    if (has_deadline) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return FollowEnd::kTimeout;
      wait_us = static_cast<uint64_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(left).count()) +
                1;
    }
    r = sd_bus_process(bus_, nullptr);
    if (r < 0) return to_call_error(&error, r, "reading signals");
    if (r > 0) continue;
    r = sd_bus_wait(bus_, wait_us);
    if (r < 0 && r != -EINTR) return to_call_error(&error, r, "waiting for signals");
  }
}

}  // namespace uldd::ctl
