// FaultPointRequest: an operator's (or a campaign's) request to arm a fault
// point compiled into a driver — {type, params} such as
// {"skip-doorbell", {"after", "3"}} or {"stall", {"ms", "2000"}} — checked
// before anything is written, and the writer of the arming into a device's
// ControlBlock::faults[] (the supervisor is the only writer of those slots;
// the driver only reads them, drivers/fault_points.h). Catalogue and
// expected outcomes: abi/fault_point.h and faultinject/README.md.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "abi/control_block.h"
#include "abi/fault_point.h"
#include "common/result.h"

namespace uldd::faultinject {

struct FaultPointRequest {
  abi::FaultPoint point = abi::FaultPoint::kNone;
  uint32_t after = 1;  // fire on the after-th pass (0 and 1: the next one)
  uint32_t arg = 0;    // stall: ms; leak-memory: MiB per pass; otherwise 0
};

// Parses {type, params}. Every point takes "after" (decimal, 0..1000000);
// "stall" also takes "ms" (1..600000, default abi::kDefaultStallMs) and
// "leak-memory" "mib" (1..4096, default abi::kDefaultLeakMib). EINVAL names
// the bad parameter or value (and the ones the point takes); ENOENT: `type`
// is not a fault point at all (the caller may try other fault classes).
Result<FaultPointRequest> parse_fault_point_request(
    std::string_view type, const std::map<std::string, std::string>& params);

// Every fault point name, in id order.
std::vector<std::string> fault_point_types();

// Arms `request` in `cb` (a device's live control block, mapped writable by
// the supervisor): the slot already holding that point is reused, else the
// first unused one; the slot is written under the seqlock protocol of
// abi/control_block.h, so its generation moves by 2 and the driver fires it
// once more at its next batch. Returns the slot index; ENOSPC when all
// kMaxArmedFaults slots hold other points.
Result<uint32_t> arm_fault_point(abi::ControlBlock& cb, const FaultPointRequest& request);

// Clears every slot holding `point` (generation bumped: a leak stops
// growing). Returns how many slots were cleared.
uint32_t disarm_fault_point(abi::ControlBlock& cb, abi::FaultPoint point);

// Clears every armed slot. The control block outlives the driver process
// (one per device), and a new driver has not seen any generation yet: an
// arming still in place when a driver is replaced would fire again in the
// replacement (a crash-here would crash every restart). So the supervisor
// calls this before it spawns or releases the next driver of the device.
uint32_t disarm_all_fault_points(abi::ControlBlock& cb);

// One line for the operator: what was armed and what the supervisor is
// expected to see, e.g. "stall (ms=2000) armed, fires on pass 1; expected:
// hang: heartbeat stops, restart as hung".
std::string describe_fault_point_request(const FaultPointRequest& request);

}  // namespace uldd::faultinject
