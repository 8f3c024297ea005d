#include "supervisor/dbus/testing/bus_service_fixture.h"

#include <chrono>

namespace uldd::dbus::testing {

void BusServiceFixture::SetUp() {
  Result<std::unique_ptr<PrivateBus>> bus = PrivateBus::start();
  ASSERT_TRUE(bus.ok()) << bus.error().describe();
  bus_ = std::move(*bus);

  BusOptions options;
  options.address = bus_->address();
  options.control_group = kTestControlGroup;
  std::unique_ptr<CallerCredentials> credentials = make_credentials();
  Result<std::unique_ptr<BusService>> service =
      credentials ? BusService::start(control_, options, std::move(credentials))
                  : BusService::start(control_, options);
  ASSERT_TRUE(service.ok()) << service.error().describe();
  service_ = std::move(*service);
  service_thread_ = std::make_unique<ServiceThread>(*service_);

  ASSERT_GE(sd_bus_new(&client_), 0);
  ASSERT_GE(sd_bus_set_address(client_, bus_->address().c_str()), 0);
  ASSERT_GE(sd_bus_set_bus_client(client_, 1), 0);
  ASSERT_GE(sd_bus_start(client_), 0);
}

void BusServiceFixture::TearDown() {
  for (sd_bus_slot* slot : matches_) sd_bus_slot_unref(slot);
  for (sd_bus_message* m : signals_) sd_bus_message_unref(m);
  sd_bus_message_unref(reply_);
  if (client_ != nullptr) sd_bus_flush_close_unref(client_);
  service_thread_.reset();
  service_.reset();
  bus_.reset();
}

CommandResult BusServiceFixture::busctl(const std::string& arguments) const {
  return run_command("busctl --address=" + shell_quote(bus_->address()) + " " + arguments);
}

CommandResult BusServiceFixture::busctl_as_nobody(const std::string& arguments,
                                                  const std::string& groups) const {
  const std::string identity = groups.empty() ? "--clear-groups" : "--groups=" + groups;
  return run_command("setpriv --reuid=65534 --regid=65534 " + identity +
                     " busctl --address=" + shell_quote(bus_->address()) + " " + arguments);
}

CommandResult BusServiceFixture::dbus_send(const std::string& path,
                                           const std::string& interface_member,
                                           const std::string& arguments, bool as_nobody) const {
  const std::string prefix = as_nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  return run_command(prefix + "dbus-send --bus=" + shell_quote(bus_->address()) +
                     " --print-reply --dest=" + kServiceName + " " + path + " " + interface_member +
                     " " + arguments);
}

std::string BusServiceFixture::call(const char* path, const char* interface, const char* member,
                                    const char* argument) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  reply_ = sd_bus_message_unref(reply_);
  const int r = argument != nullptr ? sd_bus_call_method(client_, kServiceName, path, interface,
                                                         member, &error, &reply_, "s", argument)
                                    : sd_bus_call_method(client_, kServiceName, path, interface,
                                                         member, &error, &reply_, "");
  std::string name =
      r < 0 ? (error.name != nullptr ? error.name : "errno " + std::to_string(-r)) : "";
  error_message_ = error.message != nullptr ? error.message : "";
  sd_bus_error_free(&error);
  return name;
}

void BusServiceFixture::match(const char* path, const char* interface, const char* member) {
  sd_bus_slot* slot = nullptr;
  auto on_signal = [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
    static_cast<BusServiceFixture*>(userdata)->signals_.push_back(sd_bus_message_ref(m));
    return 0;
  };
  ASSERT_GE(
      sd_bus_match_signal(client_, &slot, kServiceName, path, interface, member, on_signal, this),
      0);
  matches_.push_back(slot);
}

void BusServiceFixture::wait_for_signals(size_t count) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (signals_.size() < count && std::chrono::steady_clock::now() < give_up) {
    const int r = sd_bus_process(client_, nullptr);
    ASSERT_GE(r, 0);
    if (r == 0) sd_bus_wait(client_, 500'000);
  }
  ASSERT_GE(signals_.size(), count) << "signals did not arrive";
}

}  // namespace uldd::dbus::testing
