// Supervisor::inject_fault: the one entry for every class of fault an
// operator or a campaign injects into a device (faultinject/README.md), as
// the D-Bus InjectFault call and `ulddctl inject` give it: a type name and
// key=value parameters. Each class has a parser that answers ENOENT for a
// name that is not one of its own, so the classes are tried in turn and an
// unknown name is refused with the full list. Runs on the supervisor's loop
// thread — the thread that also reaps the drivers, which SWIFI's ptrace
// stops require (a waitpid elsewhere could take the tracee's stop).
#include <spdlog/spdlog.h>

#include <cerrno>

#include "faultinject/device_fault_request.h"
#include "faultinject/fault_point_request.h"
#include "faultinject/memory_corruption_request.h"
#include "faultinject/process_fault.h"
#include "faultinject/swifi_injector.h"
#include "supervisor/supervisor.h"

namespace uldd::supervisor {
namespace {

constexpr int kNotMine = ENOENT;

Error no_driver_process(std::string_view device, const std::string& what) {
  return Error{ENOTSUP, std::string(device) + ": colocated: there is no driver process to " + what};
}

// The driver process of `device`, for the classes that act on it.
Result<pid_t> driver_pid_of(std::string_view device, RestartEngine* engine,
                            const std::string& what) {
  if (engine == nullptr) return no_driver_process(device, what);
  pid_t pid = engine->driver_pid();
  if (pid <= 0)
    return Error{EAGAIN, std::string(device) + ": no driver is running now (state " +
                             std::string(to_string(engine->state())) + ")"};
  return pid;
}

Result<std::string> inject_process_fault(std::string_view device, RestartEngine* engine,
                                         const faultinject::ProcessFault& pf) {
  auto pid = driver_pid_of(device, engine, "deliver '" + pf.name + "' to");
  if (!pid) return pid.error();
  ULDD_TRY(engine->signal_driver(pf.signal));
  std::string detail = pf.name + " delivered to " + std::string(device) + "'s driver (pid " +
                       std::to_string(*pid) + "); expected effect: " + pf.effect;
  spdlog::warn("fault injected: {}", detail);
  return detail;
}

Result<std::string> inject_swifi(std::string_view device, RestartEngine* engine,
                                 const faultinject::SwifiFault& sf, const std::string& type) {
  auto pid = driver_pid_of(device, engine, "inject '" + type + "' into");
  if (!pid) return pid.error();
  auto outcome = faultinject::inject_swifi_fault(*pid, sf);
  if (!outcome)
    return Error{outcome.error().code, std::string(device) + ": " + outcome.error().message};
  std::string detail =
      std::string(device) + " (driver pid " + std::to_string(*pid) + "): " + outcome->description;
  spdlog::warn("SWIFI fault injected: {}", detail);
  return detail;
}

Result<std::string> arm_fault_point(std::string_view device, DeviceControl& d,
                                    const faultinject::FaultPointRequest& fp) {
  if (d.engine() == nullptr)
    return Error{ENOTSUP, std::string(device) +
                              ": colocated: the driver loop runs inside the supervisor, "
                              "fault points are not armed there"};
  auto slot = faultinject::arm_fault_point(*d.fault_arming_block(), fp);
  if (!slot) return slot.error();
  std::string detail = std::string(device) + ": " + faultinject::describe_fault_point_request(fp) +
                       " (slot " + std::to_string(*slot) + ")";
  spdlog::warn("fault point armed: {}", detail);
  return detail;
}

// Performed by the device model (uldd-hw), armed through the device's fault
// region, which no driver sees. Colocated devices have a model too; a real
// device (kernel UIO) has none, and the request is NotSupported.
Result<std::string> arm_device_fault(std::string_view device, DeviceControl& d,
                                     const faultinject::DeviceFaultRequest& df) {
  abi::DeviceFaultRegion* region = d.device_fault_region();
  if (region == nullptr)
    return Error{ENOTSUP, std::string(device) +
                              ": device faults need the device model (uio = \"emulated\"); this "
                              "device is a real PCI device (kernel UIO) with no model to arm"};
  auto slot = faultinject::arm_device_fault(*region, df);
  if (!slot) return Error{slot.error().code, std::string(device) + ": " + slot.error().message};
  std::string detail = std::string(device) + ": " + faultinject::describe_device_fault_request(df) +
                       " (device model slot " + std::to_string(*slot) + ")";
  spdlog::warn("device fault armed: {}", detail);
  return detail;
}

// A bit flipped by the supervisor in memory it owns; the shim or the next
// driver must notice.
Result<std::string> corrupt_memory(std::string_view device, DeviceControl& d,
                                   const faultinject::MemoryCorruptionRequest& mc) {
  auto done = d.corrupt_shared_memory(mc);
  if (!done) return Error{done.error().code, std::string(device) + ": " + done.error().message};
  std::string detail = std::string(device) + ": " + *done + "; expected: " +
                       (mc.target == faultinject::MemoryCorruptionRequest::Target::kRing
                            ? "the shim or the driver sees a protocol violation, restart"
                            : "the next warm restart refuses the checkpoint (crc), cold restart");
  spdlog::warn("memory corrupted: {}", detail);
  return detail;
}

}  // namespace

Result<std::string> Supervisor::inject_fault(std::string_view name, const FaultRequest& fault) {
  auto found = find_device(name);
  if (!found) return found.error();
  DeviceControl* d = *found;
  RestartEngine* engine = d->engine();
  const auto& [type, params] = fault;

  if (auto pf = faultinject::parse_process_fault(type, params)) {
    return inject_process_fault(name, engine, *pf);
  } else if (pf.error().code != kNotMine) {
    return pf.error();
  }
  if (auto sf = faultinject::parse_swifi_fault(type, params)) {
    return inject_swifi(name, engine, *sf, type);
  } else if (sf.error().code != kNotMine) {
    return sf.error();
  }
  if (auto fp = faultinject::parse_fault_point_request(type, params)) {
    return arm_fault_point(name, *d, *fp);
  } else if (fp.error().code != kNotMine) {
    return fp.error();
  }
  if (auto df = faultinject::parse_device_fault_request(type, params)) {
    return arm_device_fault(name, *d, *df);
  } else if (df.error().code != kNotMine) {
    return df.error();
  }
  if (auto mc = faultinject::parse_memory_corruption_request(type, params)) {
    return corrupt_memory(name, *d, *mc);
  } else if (mc.error().code != kNotMine) {
    return mc.error();
  }
  std::string known;
  for (const std::string& t : fault_types()) known += (known.empty() ? "" : ", ") + t;
  return Error{EINVAL, "unknown fault type '" + type + "' (known: " + known + ")"};
}

std::vector<std::string> Supervisor::fault_types() const {
  std::vector<std::string> types = faultinject::process_fault_types();
  for (auto list : {faultinject::swifi_fault_types(), faultinject::fault_point_types(),
                    faultinject::device_fault_types(), faultinject::memory_corruption_types()})
    for (std::string& t : list) types.push_back(std::move(t));
  return types;
}

}  // namespace uldd::supervisor
