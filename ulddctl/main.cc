// ulddctl: the command-line client of uldd-supervisor's D-Bus API
// (docs/dbus-api.md), in the manner of systemctl and busctl. Parses the
// command line (CLI11) and dispatches to Verbs; docs/ulddctl.md is the manual.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "ulddctl/exit_code.h"
#include "ulddctl/supervisor_client.h"
#include "ulddctl/verbs.h"

namespace {

using uldd::ctl::as_int;
using uldd::ctl::ExitCode;

constexpr const char* kFooter = R"(Environment:
  ULDD_BUS_ADDRESS   D-Bus address to use instead of the system bus (as --address)

Fault campaigns: `ulddctl campaign run FILE ...` runs uldd-campaign from ulddctl's
directory (faultinject/campaigns/README.md).

Exit status:
  0  success
  1  the operation failed (the daemon tried and could not; timeouts)
  2  usage error (bad command line, or the daemon refused an argument)
  3  no such device
  4  access denied (mutating verbs need root or the supervisor's control group)
  5  uldd-supervisor is not running (no bus, or no owner of org.uldd.Supervisor1)
  6  invalid state (e.g. start on a serving device)

See docs/ulddctl.md for every verb's output and its JSON shape.)";

constexpr const char* kVerbFooter =
    "Global options, also after the verb: --system, --address ADDR, --json, --no-legend.\n"
    "Exit status: 0 ok, 1 failed, 2 usage, 3 no such device, 4 access denied,\n"
    "5 uldd-supervisor not running, 6 invalid state (ulddctl --help, docs/ulddctl.md).";

volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int) {
  g_interrupted = 1;
}

// Ctrl-C (and SIGTERM) end `events` cleanly: no SA_RESTART, so the bus wait
// returns EINTR and the loop sees the flag.
void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// `ulddctl campaign ARGS...` is `uldd-campaign ARGS...` from the directory
// ulddctl itself is in (faultinject/campaigns/README.md); it runs its own
// private supervisor, so none of the bus options apply.
int exec_campaign(int argc, char** argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::cerr << "ulddctl campaign: cannot read /proc/self/exe\n";
    return 1;
  }
  self[n] = '\0';
  std::string exe(self);
  exe = exe.substr(0, exe.rfind('/') + 1) + "uldd-campaign";
  std::vector<char*> args = {exe.data()};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(exe.c_str(), args.data());
  std::cerr << "ulddctl campaign: cannot run " << exe << ": " << std::strerror(errno) << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "campaign") return exec_campaign(argc, argv);
  CLI::App app{"ulddctl: control uldd-supervisor (user-level device drivers) over D-Bus",
               "ulddctl"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the verb: `ulddctl list --json`

  std::string address;
  bool system_bus = false;
  uldd::ctl::OutputOptions output;
  bool no_legend = false;
  auto* system_flag = app.add_flag("--system", system_bus,
                                   "talk to the system bus (default; ignores ULDD_BUS_ADDRESS)");
  app.add_option("--address", address, "talk to the bus at this D-Bus address (or socket path)")
      ->excludes(system_flag);
  app.add_flag("--json", output.json, "print one JSON document (events: one object per line)");
  app.add_flag("--no-legend", no_legend, "leave out table headers, footers and hints");

  std::string device;
  auto* status =
      app.add_subcommand("status", "show the supervisor and every device, or one DEVICE in detail");
  status->add_option("DEVICE", device, "device name, e.g. disk0");
  status->footer("Example: ulddctl status disk0");

  auto* list = app.add_subcommand(
      "list", "table of devices: DEVICE KIND STATE PID RESTARTS FAULTS LAST-DOWNTIME");

  std::vector<std::string> devices;
  std::map<std::string, CLI::App*> actions;
  for (const auto& [verb, help] :
       {std::pair{"restart", "replace each DEVICE's driver (requests are held meanwhile)"},
        std::pair{"stop", "stop each DEVICE's driver; requests are held until start"},
        std::pair{"start", "start each stopped or failed DEVICE's driver"}}) {
    auto* sub = app.add_subcommand(verb, help);
    sub->add_option("DEVICE", devices, "device names")->required();
    sub->footer("Needs root or the supervisor's control group.");
    actions[verb] = sub;
  }

  auto* reload =
      app.add_subcommand("reload", "re-read the policy files (all or nothing, like SIGHUP)");

  std::string fault_type;
  std::vector<std::string> fault_params;
  bool list_faults = false;
  auto* inject =
      app.add_subcommand("inject", "inject one fault into DEVICE now: TYPE [KEY=VALUE...]");
  inject->add_flag("--list", list_faults, "list the fault types the daemon accepts, and exit");
  inject->add_option("DEVICE", device, "device name");
  inject->add_option("TYPE", fault_type, "fault type (see --list), e.g. sigkill");
  inject->add_option("PARAMS", fault_params, "KEY=VALUE parameters of the fault");
  inject->footer(
      "Example: ulddctl inject disk0 sigkill\nNeeds root or the supervisor's control group.");
  auto* fault_types = app.add_subcommand("fault-types", "list the fault types inject accepts");

  uint64_t event_count = 0;
  double event_timeout_s = 0;
  auto* events =
      app.add_subcommand("events", "follow DeviceStateChanged, Recovered and FaultInjected live");
  events->add_option("--count", event_count, "end after N events (0: no limit)");
  events
      ->add_option("--timeout", event_timeout_s,
                   "end after SEC seconds (0: none); exit 1 if --count was not reached")
      ->check(CLI::NonNegativeNumber);
  events->footer(
      "One line per event; with --json one JSON object per line. Ctrl-C ends (status 0).");

  auto* metrics =
      app.add_subcommand("metrics", "print the OpenMetrics exposition (as the metrics file)");

  std::string level;
  auto* log_level =
      app.add_subcommand("log-level", "print the daemon's log level, or set it to LEVEL");
  log_level->add_option("LEVEL", level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  for (CLI::App* verb : app.get_subcommands([](CLI::App*) { return true; }))
    verb->footer(verb->get_footer().empty() ? kVerbFooter
                                            : verb->get_footer() + "\n\n" + kVerbFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status_code = app.exit(e);  // prints help, or the error and a hint
    return status_code == 0 ? as_int(ExitCode::kSuccess) : as_int(ExitCode::kUsage);
  }
  output.legend = !no_legend;

  std::map<std::string, std::string> params;
  if (inject->parsed() && !list_faults) {
    if (device.empty() || fault_type.empty()) {
      std::cerr << "ulddctl: inject needs DEVICE and TYPE (or --list)\n";
      return as_int(ExitCode::kUsage);
    }
    for (const auto& key_value : fault_params) {
      const size_t eq = key_value.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "ulddctl: inject: '" << key_value << "' is not KEY=VALUE\n";
        return as_int(ExitCode::kUsage);
      }
      params[key_value.substr(0, eq)] = key_value.substr(eq + 1);
    }
  }

  const std::string bus_address =
      uldd::ctl::choose_bus_address(address, system_bus, std::getenv("ULDD_BUS_ADDRESS"));
  auto client = uldd::ctl::SupervisorClient::connect(bus_address);
  if (!client) {
    const std::string verb = app.get_subcommands().front()->get_name();
    std::cerr << uldd::ctl::failure_line(
                     client.error(),
                     {verb, "",
                      bus_address.empty() ? "the system bus" : "the bus at " + bus_address})
              << "\n";
    return as_int(uldd::ctl::exit_code_for(client.error().name));
  }
  uldd::ctl::Verbs verbs(**client, output, std::cout, std::cerr);

  ExitCode result = ExitCode::kUsage;
  if (status->parsed()) result = verbs.status(device);
  if (list->parsed()) result = verbs.list();
  for (const auto& [verb, sub] : actions)
    if (sub->parsed()) result = verbs.device_action(verb, devices);
  if (reload->parsed()) result = verbs.reload();
  if (inject->parsed())
    result = list_faults ? verbs.fault_types() : verbs.inject(device, fault_type, params);
  if (fault_types->parsed()) result = verbs.fault_types();
  if (events->parsed()) {
    catch_interrupts();
    result = verbs.events(event_count,
                          std::chrono::milliseconds(static_cast<int64_t>(event_timeout_s * 1000)),
                          [] { return g_interrupted != 0; });
  }
  if (metrics->parsed()) result = verbs.metrics();
  if (log_level->parsed())
    result = verbs.log_level(level.empty() ? std::nullopt : std::optional<std::string>(level));
  return as_int(result);
}
