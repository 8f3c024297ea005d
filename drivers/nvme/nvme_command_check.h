// The NVMe driver's last look at a command before the controller can see it.
//
// Problem: a fault inside the driver process — a bit flip, an inverted
// branch, a skipped instruction (the campaigns' SWIFI faults model exactly
// this) — can turn a valid request into a different command that is just as
// valid to the controller: a Write issued as a Flush, an NLB taken from the
// wrong register, a PRP pointing at another request's buffer. The controller
// executes it and posts success; the shim acknowledges a write that never
// reached the medium, or one that overwrote a neighbour. Nothing downstream
// can tell (bench/campaign found 7 lost writes in 10,000 faults, all from one
// inverted branch in NvmeDriver::submit_now).
//
// check_io_command() recomputes, from the shim's descriptor alone and by a
// separate path (its own translation unit, so the compiler cannot fold it
// into the building code), what the SQE must say, and compares field by
// field. A mismatch makes the driver stop before the doorbell (fail-stop):
// the supervisor restarts it and the shim resends the request, which the
// restarted driver builds again. A single fault cannot both corrupt the
// command and hide it from this check; a fault that only trips the check
// costs a restart, not data.
#pragma once

#include <cstdint>
#include <string>

#include "abi/block_descriptor.h"
#include "devices/nvme/nvme_spec.h"
#include "uio/uio_device.h"

namespace uldd::drivers {

// What the command for descriptor `d` (already validated) under command id
// `cid` must contain: NVMe 1.4 §6.15 (Read), §6.15/§6.16 (Write), §6.8
// (Flush), PRPs per §4.3 with the list (if any) at `list_iova`.
// Returns "" when `e` says exactly that, else what differs.
std::string check_io_command(const nvme::SubmissionEntry& e, const abi::BlockDescriptor& d,
                             uint16_t cid, uint32_t nsid, const uio::DmaRegion& dma,
                             uint64_t list_iova);

}  // namespace uldd::drivers
