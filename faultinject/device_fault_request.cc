#include "faultinject/device_fault_request.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>

#include "abi/control_block.h"  // load_shared / store_shared

namespace uldd::faultinject {
namespace {

using abi::DeviceFault;

// Named NVMe statuses (NVMe 1.4 §4.6.1.2): generic (SCT 0) and media (SCT 2).
struct NamedStatus {
  std::string_view name;
  uint32_t value;  // SCT << 8 | SC
};
constexpr NamedStatus kStatuses[] = {
    {"invalid-field", 0x002},          {"data-transfer-error", 0x004},
    {"power-loss-abort", 0x005},       {"internal-error", 0x006},
    {"abort-requested", 0x007},        {"lba-out-of-range", 0x080},
    {"namespace-not-ready", 0x082},    {"write-fault", 0x280},
    {"unrecovered-read-error", 0x281},
};

// What each fault takes, for the error messages and the checks.
std::string_view params_of(DeviceFault f) {
  switch (f) {
    case DeviceFault::kLostInterrupt:
      return "'after'";
    case DeviceFault::kDelayedCommand:
      return "'after' and 'ms'";
    case DeviceFault::kFailedCommand:
      return "'after', 'status' (NVMe) and 'frame' (e1000)";
    case DeviceFault::kMediaError:
      return "'lba' and 'count'";
    default:
      return "no parameters";
  }
}

Error bad(std::string_view type, const std::string& what) {
  return Error{EINVAL, "device fault '" + std::string(type) + "': " + what};
}

Result<uint64_t> parse_number(std::string_view type, const std::string& key,
                              const std::string& text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  int base = 10;
  std::string_view digits = text;
  if (digits.size() > 2 && (digits.substr(0, 2) == "0x" || digits.substr(0, 2) == "0X")) {
    base = 16;
    digits.remove_prefix(2);
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || v < min ||
      v > max)
    return bad(type, "parameter '" + key + "' must be a number in " + std::to_string(min) + ".." +
                         std::to_string(max) + "; got '" + text + "'");
  return v;
}

Result<uint32_t> parse_status(std::string_view type, const std::string& text) {
  for (const NamedStatus& s : kStatuses)
    if (s.name == text) return s.value;
  auto v = parse_number(type, "status", text, 1, 0x7FF);
  if (!v) {
    std::string names;
    for (const NamedStatus& s : kStatuses)
      names += (names.empty() ? "" : ", ") + std::string(s.name);
    return bad(type, "parameter 'status' must be one of " + names +
                         " or a number 0x01..0x7ff (SCT << 8 | SC); got '" + text + "'");
  }
  if ((*v & 0xFF) == 0) return bad(type, "status " + text + " has SC 0 (success)");
  return static_cast<uint32_t>(*v);
}

void write_slot(abi::DeviceFaultArming& slot, const abi::DeviceFaultArming& value) {
  // Seqlock writer (abi/device_fault.h): odd generation first; the release
  // stores of the fields keep it ahead of them; even generation last.
  uint32_t g = abi::load_shared(slot.generation);
  g += (g & 1) != 0 ? 1 : 0;  // a torn earlier write (crashed writer) left it odd
  abi::store_shared(slot.generation, g + 1);
  abi::store_shared(slot.fault, value.fault);
  abi::store_shared(slot.after, value.after);
  abi::store_shared(slot.arg, value.arg);
  abi::store_shared(slot.lba, value.lba);
  abi::store_shared(slot.count, value.count);
  abi::store_shared(slot.generation, g + 2);
}

}  // namespace

std::vector<std::string> device_fault_types() {
  std::vector<std::string> out;
  for (uint32_t id = 1; id < abi::kDeviceFaultIdLimit; ++id)
    out.emplace_back(abi::device_fault_name(static_cast<DeviceFault>(id)));
  return out;
}

Result<DeviceFaultRequest> parse_device_fault_request(
    std::string_view type, const std::map<std::string, std::string>& params) {
  DeviceFaultRequest r;
  for (uint32_t id = 1; id < abi::kDeviceFaultIdLimit; ++id)
    if (abi::device_fault_name(static_cast<DeviceFault>(id)) == type)
      r.fault = static_cast<DeviceFault>(id);
  if (r.fault == DeviceFault::kNone)
    return Error{ENOENT, "'" + std::string(type) + "' is not a device fault"};
  if (r.fault == DeviceFault::kDelayedCommand) r.ms = kDefaultDelayMs;
  bool lba_given = false;
  const bool counts_passes = r.fault == DeviceFault::kLostInterrupt ||
                             r.fault == DeviceFault::kDelayedCommand ||
                             r.fault == DeviceFault::kFailedCommand;
  for (const auto& [key, value] : params) {
    if (key == "after" && counts_passes) {
      auto v = parse_number(type, key, value, 0, 1000000);
      if (!v) return v.error();
      r.after = static_cast<uint32_t>(*v);
    } else if (key == "ms" && r.fault == DeviceFault::kDelayedCommand) {
      auto v = parse_number(type, key, value, 1, 600000);
      if (!v) return v.error();
      r.ms = static_cast<uint32_t>(*v);
    } else if (key == "status" && r.fault == DeviceFault::kFailedCommand) {
      auto v = parse_status(type, value);
      if (!v) return v.error();
      r.nvme_status = *v;
      r.status_given = true;
    } else if (key == "frame" && r.fault == DeviceFault::kFailedCommand) {
      if (value != "tx" && value != "rx")
        return bad(type, "parameter 'frame' must be 'tx' or 'rx'; got '" + value + "'");
      r.frame = value == "tx" ? abi::kE1000FailTx : abi::kE1000FailRx;
    } else if (key == "lba" && r.fault == DeviceFault::kMediaError) {
      auto v = parse_number(type, key, value, 0, (uint64_t{1} << 48) - 1);
      if (!v) return v.error();
      r.lba = *v;
      lba_given = true;
    } else if (key == "count" && r.fault == DeviceFault::kMediaError) {
      auto v = parse_number(type, key, value, 1, uint64_t{1} << 32);
      if (!v) return v.error();
      r.count = *v;
    } else {
      return bad(type,
                 "no parameter '" + key + "' (it takes " + std::string(params_of(r.fault)) + ")");
    }
  }
  if (r.fault == DeviceFault::kMediaError && !lba_given)
    return bad(type, "parameter 'lba' is required (first block of the range)");
  if (r.status_given && r.frame != 0)
    return bad(type, "'status' is for an NVMe disk, 'frame' for an e1000: give one");
  return r;
}

void init_device_fault_region(abi::DeviceFaultRegion& region, uint32_t device_model) {
  abi::store_shared(region.device_model, device_model);
  abi::store_shared(region.version, abi::kDeviceFaultVersion);
  abi::store_shared(region.magic, abi::kDeviceFaultMagic);
}

Result<uint32_t> arm_device_fault(abi::DeviceFaultRegion& region,
                                  const DeviceFaultRequest& request) {
  auto id = static_cast<uint32_t>(request.fault);
  if (id == 0 || id >= abi::kDeviceFaultIdLimit)
    return Error{EINVAL, "arm_device_fault: unknown device fault id " + std::to_string(id)};
  if (abi::load_shared(region.magic) != abi::kDeviceFaultMagic ||
      abi::load_shared(region.version) != abi::kDeviceFaultVersion)
    return Error{EPROTO, "device fault region has no valid header"};
  const uint32_t model = abi::load_shared(region.device_model);
  const bool nvme = model == abi::kDeviceModelNvme;
  const std::string_view name = abi::device_fault_name(request.fault);
  abi::DeviceFaultArming a{id, request.after, 0, 0, 0, 0};
  switch (request.fault) {
    case DeviceFault::kDelayedCommand:
      a.arg = request.ms;
      break;
    case DeviceFault::kFailedCommand:
      if (nvme && request.frame != 0)
        return bad(name, "'frame' is an e1000 parameter; an NVMe disk takes 'status'");
      if (!nvme && request.status_given)
        return bad(name, "'status' is an NVMe parameter; an e1000 takes 'frame' (tx|rx)");
      a.arg = nvme ? request.nvme_status : std::max(request.frame, abi::kE1000FailTx);
      break;
    case DeviceFault::kMediaError:
      if (!nvme) return Error{ENOTSUP, "media-error is a disk (NVMe) fault; this device is a NIC"};
      a.lba = request.lba;
      a.count = request.count;
      break;
    default:
      break;
  }
  uint32_t chosen = abi::kMaxDeviceFaults;
  for (uint32_t i = 0; i < abi::kMaxDeviceFaults && chosen == abi::kMaxDeviceFaults; ++i)
    if (abi::load_shared(region.slots[i].fault) == id) chosen = i;
  for (uint32_t i = 0; i < abi::kMaxDeviceFaults && chosen == abi::kMaxDeviceFaults; ++i)
    if (abi::load_shared(region.slots[i].fault) == 0) chosen = i;
  if (chosen == abi::kMaxDeviceFaults)
    return Error{ENOSPC, "no free device fault slot"};  // 8 slots, 7 faults: cannot happen
  write_slot(region.slots[chosen], a);
  return chosen;
}

std::string describe_device_fault_request(const DeviceFaultRequest& request) {
  std::string out(abi::device_fault_name(request.fault));
  std::string_view effect;
  switch (request.fault) {
    case DeviceFault::kLostInterrupt:
      effect =
          "a completion without its interrupt: the driver finds it at its next poll, "
          "or the shim's timeout fires";
      break;
    case DeviceFault::kSpuriousInterrupt:
      effect = "an interrupt with nothing to report: the driver finds nothing, no error";
      break;
    case DeviceFault::kDelayedCommand:
      out += " (ms=" + std::to_string(request.ms) + ")";
      effect = "one command completes late (the shim times out if ms exceeds its timeout)";
      break;
    case DeviceFault::kFailedCommand:
      if (request.frame != 0) {
        out += request.frame == abi::kE1000FailRx ? " (frame=rx)" : " (frame=tx)";
      } else {
        char hex[8];
        auto [end, ec] = std::to_chars(hex, hex + sizeof hex, request.nvme_status, 16);
        out += " (status=0x" + std::string(hex, ec == std::errc() ? end : hex) + ")";
      }
      effect = "one command fails at the device: one I/O error / one lost frame";
      break;
    case DeviceFault::kMediaError:
      out +=
          " (lba=" + std::to_string(request.lba) + " count=" + std::to_string(request.count) + ")";
      effect = "reads of the range fail with Unrecovered Read Error until written";
      break;
    case DeviceFault::kDeviceHang:
      effect = "nothing completes until the driver resets the device: shim timeout, restart";
      break;
    case DeviceFault::kClearDeviceFaults:
      effect = "media errors and a hang are cleared";
      break;
    case DeviceFault::kNone:
      break;
  }
  if (request.fault == DeviceFault::kLostInterrupt ||
      request.fault == DeviceFault::kDelayedCommand || request.fault == DeviceFault::kFailedCommand)
    out += " armed, fires on pass " + std::to_string(std::max<uint32_t>(request.after, 1));
  else
    out += " armed";
  out += "; expected: ";
  out += effect;
  return out;
}

}  // namespace uldd::faultinject
