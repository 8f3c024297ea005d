// x86 conditional branch evaluation: which way a decoded jcc / jrcxz / loop
// goes for given registers, and the register state that sends it the other
// way — the transient "invert branch" SWIFI fault (the text stays intact).
#pragma once

#include <sys/user.h>

#include "common/result.h"
#include "faultinject/instruction_decoder.h"

namespace uldd::faultinject {

struct BranchDecision {
  bool taken = false;         // what the CPU would do
  uint64_t next_rip = 0;      // where it would go
  uint64_t inverted_rip = 0;  // the other way
};

// EINVAL when `insn` is not a conditional branch.
Result<BranchDecision> evaluate_conditional_branch(const DecodedInstruction& insn,
                                                   const user_regs_struct& regs);

// The registers after executing `insn` the wrong way: rip = inverted_rip, and
// for loop/loope/loopne rcx decremented as the instruction does either way.
Result<user_regs_struct> invert_conditional_branch(const DecodedInstruction& insn,
                                                   const user_regs_struct& regs);

}  // namespace uldd::faultinject
