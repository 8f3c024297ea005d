#include "faultinject/fault_point_request.h"

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace uldd::faultinject {
namespace {

// The parameter a point takes besides "after", with its range and default.
struct ExtraParam {
  std::string_view name;  // "" = none
  uint32_t min, max, fallback;
};

ExtraParam extra_param(abi::FaultPoint p) {
  switch (p) {
    case abi::FaultPoint::kStall:
      return {"ms", 1, 600000, abi::kDefaultStallMs};
    case abi::FaultPoint::kLeakMemory:
      return {"mib", 1, 4096, abi::kDefaultLeakMib};
    default:
      return {"", 0, 0, 0};
  }
}

Result<uint32_t> parse_number(std::string_view type, const std::string& key,
                              const std::string& text, uint32_t min, uint32_t max) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
    return Error{EINVAL, "fault point '" + std::string(type) + "': parameter '" + key +
                             "' must be a number in " + std::to_string(min) + ".." +
                             std::to_string(max) + "; got '" + text + "'"};
  return v;
}

void write_slot(abi::FaultPointArming& slot, uint32_t point, uint32_t after, uint32_t arg) {
  // Seqlock writer (abi/control_block.h): odd generation first; the release
  // stores of the fields keep it ahead of them; even generation last.
  uint32_t g = abi::load_shared(slot.generation);
  g += (g & 1) != 0 ? 1 : 0;  // a torn earlier write (crashed writer) left it odd
  abi::store_shared(slot.generation, g + 1);
  abi::store_shared(slot.point, point);
  abi::store_shared(slot.after, after);
  abi::store_shared(slot.arg, arg);
  abi::store_shared(slot.generation, g + 2);
}

}  // namespace

std::vector<std::string> fault_point_types() {
  std::vector<std::string> out;
  for (uint32_t id = 1; id < abi::kFaultPointIdLimit; ++id)
    out.emplace_back(abi::fault_point_name(static_cast<abi::FaultPoint>(id)));
  return out;
}

Result<FaultPointRequest> parse_fault_point_request(
    std::string_view type, const std::map<std::string, std::string>& params) {
  FaultPointRequest r;
  for (uint32_t id = 1; id < abi::kFaultPointIdLimit; ++id)
    if (abi::fault_point_name(static_cast<abi::FaultPoint>(id)) == type)
      r.point = static_cast<abi::FaultPoint>(id);
  if (r.point == abi::FaultPoint::kNone)
    return Error{ENOENT, "'" + std::string(type) + "' is not a fault point"};
  ExtraParam extra = extra_param(r.point);
  r.arg = extra.fallback;
  for (const auto& [key, value] : params) {
    if (key == "after") {
      auto v = parse_number(type, key, value, 0, 1000000);
      if (!v) return v.error();
      r.after = v.value();
    } else if (!extra.name.empty() && key == extra.name) {
      auto v = parse_number(type, key, value, extra.min, extra.max);
      if (!v) return v.error();
      r.arg = v.value();
    } else {
      std::string takes = "'after'";
      if (!extra.name.empty()) takes += " and '" + std::string(extra.name) + "'";
      return Error{EINVAL, "fault point '" + std::string(type) + "' has no parameter '" + key +
                               "' (it takes " + takes + ")"};
    }
  }
  return r;
}

Result<uint32_t> arm_fault_point(abi::ControlBlock& cb, const FaultPointRequest& request) {
  auto id = static_cast<uint32_t>(request.point);
  if (id == 0 || id >= abi::kFaultPointIdLimit)
    return Error{EINVAL, "arm_fault_point: unknown fault point id " + std::to_string(id)};
  uint32_t chosen = abi::kMaxArmedFaults;
  for (uint32_t i = 0; i < abi::kMaxArmedFaults && chosen == abi::kMaxArmedFaults; ++i)
    if (abi::load_shared(cb.faults[i].point) == id) chosen = i;
  for (uint32_t i = 0; i < abi::kMaxArmedFaults && chosen == abi::kMaxArmedFaults; ++i)
    if (abi::load_shared(cb.faults[i].point) == 0) chosen = i;
  if (chosen == abi::kMaxArmedFaults)
    return Error{ENOSPC, "no free fault point slot (all " + std::to_string(abi::kMaxArmedFaults) +
                             " hold other points): disarm one first"};
  write_slot(cb.faults[chosen], id, request.after, request.arg);
  return chosen;
}

uint32_t disarm_all_fault_points(abi::ControlBlock& cb) {
  uint32_t cleared = 0;
  for (abi::FaultPointArming& slot : cb.faults) {
    if (abi::load_shared(slot.point) == 0) continue;
    write_slot(slot, 0, 0, 0);
    ++cleared;
  }
  return cleared;
}

std::string describe_fault_point_request(const FaultPointRequest& request) {
  std::string_view effect;
  switch (request.point) {
    case abi::FaultPoint::kCrashHere:
      effect = "crash (SIGABRT in completion handling), restart";
      break;
    case abi::FaultPoint::kSkipDoorbell:
      effect = "requests stall until the next batch, or time out";
      break;
    case abi::FaultPoint::kWrongLength:
      effect = "the shim refuses an altered completion (driver fault)";
      break;
    case abi::FaultPoint::kWrongIova:
      effect = "the device refuses the command: one I/O error / dropped frame";
      break;
    case abi::FaultPoint::kDoubleCompletion:
      effect = "the shim refuses a duplicate completion (driver fault)";
      break;
    case abi::FaultPoint::kLostCompletion:
      effect = "one request never completes: shim timeout";
      break;
    case abi::FaultPoint::kLeakMemory:
      effect = "memory grows until the cgroup limit kills the driver";
      break;
    case abi::FaultPoint::kStall:
      effect = "hang: heartbeat stops, restart as hung";
      break;
    case abi::FaultPoint::kNone:
      break;
  }
  std::string out(abi::fault_point_name(request.point));
  if (request.point == abi::FaultPoint::kStall) out += " (ms=" + std::to_string(request.arg) + ")";
  if (request.point == abi::FaultPoint::kLeakMemory)
    out += " (mib=" + std::to_string(request.arg) + " per pass)";
  out += " armed, fires on pass " + std::to_string(std::max<uint32_t>(request.after, 1)) +
         "; expected: ";
  out += effect;
  return out;
}

uint32_t disarm_fault_point(abi::ControlBlock& cb, abi::FaultPoint point) {
  uint32_t cleared = 0;
  for (abi::FaultPointArming& slot : cb.faults) {
    if (abi::load_shared(slot.point) != static_cast<uint32_t>(point)) continue;
    write_slot(slot, 0, 0, 0);
    ++cleared;
  }
  return cleared;
}

}  // namespace uldd::faultinject
