// DeviceFaultRequest: an operator's (or a campaign's) request to make a
// device model misbehave as broken hardware would — {type, params} such as
// {"media-error", {"lba", "100"}, {"count", "8"}} or {"failed-command",
// {"status", "internal-error"}} — checked before anything is written, and the
// writer of the arming into the device's DeviceFaultRegion
// (abi/device_fault.h). The supervisor is the only writer of the slots; the
// model (uldd-hw) only reads them (devices/device_fault_reader.h) and counts
// what it did. Catalogue and expected outcomes: faultinject/README.md.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "abi/device_fault.h"
#include "common/result.h"

namespace uldd::faultinject {

struct DeviceFaultRequest {
  abi::DeviceFault fault = abi::DeviceFault::kNone;
  uint32_t after = 1;  // lost-interrupt, delayed-command, failed-command: the after-th pass
  uint32_t ms = 0;     // delayed-command
  // failed-command: NVMe status SCT << 8 | SC (default Internal Error), and
  // whether the operator gave one; e1000: which frame (kE1000FailTx/Rx), 0 = not given.
  uint32_t nvme_status = 0x006;
  bool status_given = false;
  uint32_t frame = 0;
  uint64_t lba = 0;    // media-error
  uint64_t count = 1;  // media-error
};

inline constexpr uint32_t kDefaultDelayMs = 1000;

// Parses {type, params}. Parameters per fault (faultinject/README.md):
//   lost-interrupt after; spurious-interrupt -; delayed-command after, ms
//   (1..600000, default 1000); failed-command after, status (a name such as
//   internal-error or a number 0x01..0x7ff = SCT << 8 | SC; NVMe), frame
//   (tx|rx; e1000); media-error lba (required), count (1..2^32, default 1);
//   device-hang -; clear-device-faults -.
// EINVAL names the bad parameter or value (and what the fault takes);
// ENOENT: `type` is not a device fault (the caller tries other classes).
Result<DeviceFaultRequest> parse_device_fault_request(
    std::string_view type, const std::map<std::string, std::string>& params);

// Every device fault name, in id order.
std::vector<std::string> device_fault_types();

// Lays out a fresh (or adopted) region's header for `device_model`
// (abi::kDeviceModelNvme / kDeviceModelE1000); slots and counters are kept.
void init_device_fault_region(abi::DeviceFaultRegion& region, uint32_t device_model);

// Arms `request` in `region` (a device's live fault region, mapped writable
// by the supervisor): the slot already holding that fault is reused, else the
// first unused one, written under the seqlock of abi/device_fault.h, so the
// model takes it at its next loop iteration. Refuses (ENOTSUP) a fault the
// region's model does not have (media-error on an e1000), EINVAL a parameter
// of the other model (status on an e1000, frame on an NVMe disk), EPROTO a
// region without a valid header. Returns the slot index.
Result<uint32_t> arm_device_fault(abi::DeviceFaultRegion& region,
                                  const DeviceFaultRequest& request);

// One line for the operator: what was armed and what the supervisor is
// expected to see.
std::string describe_device_fault_request(const DeviceFaultRequest& request);

}  // namespace uldd::faultinject
