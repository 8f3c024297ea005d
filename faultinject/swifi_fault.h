// SwifiFault: an operator's (or a campaign's) request for a
// software-implemented fault in a running driver process, injected through
// ptrace in the MINIX 3 / Nooks manner: a bit flip in a register or in one
// byte of the stack, heap, data or text, a skipped instruction, an inverted
// conditional branch, or a busy loop at the current instruction. This file
// checks {type, params} before anything is touched and makes every random
// choice (when, which register, bit and byte) a pure function of the seed,
// the params and the size of the targeted memory class, so that a reported
// seed replays the same fault. Injection: faultinject/swifi_injector.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "faultinject/process_memory_map.h"

namespace uldd::faultinject {

enum class SwifiKind {
  kRegister,         // swifi-register
  kStack,            // swifi-stack
  kHeap,             // swifi-heap
  kData,             // swifi-data
  kText,             // swifi-text
  kSkipInstruction,  // swifi-skip-instruction
  kInvertBranch,     // swifi-invert-branch
  kBusyLoop,         // busy-loop
};

// Largest `at` accepted (instructions single-stepped before injecting). A
// step costs tens of microseconds (two context switches): 100000 steps hold
// the process, and the caller, for several seconds.
inline constexpr uint32_t kMaxSwifiAt = 100000;
// `at` drawn from the seed when not given: 0..kDefaultSwifiAtMax.
inline constexpr uint32_t kDefaultSwifiAtMax = 1000;

struct SwifiFault {
  SwifiKind kind = SwifiKind::kRegister;
  std::string name;                // the operator-facing type, "swifi-heap"
  std::optional<uint64_t> seed;    // none: chosen from the clock at injection, reported
  std::optional<uint32_t> at;      // instructions to step first; none: drawn from the seed
  std::optional<std::string> reg;  // swifi-register: "rax".."r15" or "rip"
  std::optional<uint32_t> bit;     // register: 0..63; memory: 0..7
  std::optional<uint64_t> offset;  // memory classes: byte of the class (mappings end to end)
};

// Parses {type, params}. ENOENT: `type` is not a SWIFI fault (the caller may
// try other classes); EINVAL names the bad or unknown parameter and what the
// type takes.
Result<SwifiFault> parse_swifi_fault(std::string_view type,
                                     const std::map<std::string, std::string>& params);

// Every SWIFI fault type, in a stable order.
std::vector<std::string> swifi_fault_types();

// The memory class a memory fault targets; nullopt for the others.
std::optional<MemoryClass> swifi_memory_class(SwifiKind kind);

// Every random decision of one injection.
struct SwifiChoice {
  uint64_t seed = 0;
  uint32_t at = 0;
  std::string reg;      // swifi-register only
  uint32_t bit = 0;     // register or memory faults
  uint64_t offset = 0;  // memory faults only
};

// The choice for `fault` with `seed`, given the size in bytes of the targeted
// memory class (ignored for non-memory faults). Pure: the same arguments give
// the same choice on every host. Explicit params win over drawn values and do
// not shift the others (every value is always drawn, in a fixed order).
// EINVAL: an explicit offset beyond the class; ENXIO: the class is empty.
Result<SwifiChoice> choose_swifi_target(const SwifiFault& fault, uint64_t seed,
                                        uint64_t class_size_bytes);

// A seed from the clock, for a fault given without one.
uint64_t fresh_swifi_seed();

}  // namespace uldd::faultinject
