#include "faultinject/x86_branch.h"

#include <capstone/capstone.h>

#include <cerrno>

namespace uldd::faultinject {
namespace {

// EFLAGS bits (Intel SDM vol. 1, 3.4.3).
constexpr uint64_t kCarry = 1u << 0;
constexpr uint64_t kParity = 1u << 2;
constexpr uint64_t kZero = 1u << 6;
constexpr uint64_t kSign = 1u << 7;
constexpr uint64_t kOverflow = 1u << 11;

bool is_loop(unsigned id) {
  return id == X86_INS_LOOP || id == X86_INS_LOOPE || id == X86_INS_LOOPNE;
}

}  // namespace

Result<BranchDecision> evaluate_conditional_branch(const DecodedInstruction& insn,
                                                   const user_regs_struct& regs) {
  if (!insn.conditional_branch)
    return Error{EINVAL, "'" + insn.text + "' is not a conditional branch"};
  uint64_t f = regs.eflags;
  bool cf = (f & kCarry) != 0, pf = (f & kParity) != 0, zf = (f & kZero) != 0;
  bool sf = (f & kSign) != 0, of = (f & kOverflow) != 0;
  uint64_t rcx_after_loop = regs.rcx - 1;  // loop* decrement rcx before testing it
  bool taken = false;
  switch (insn.id) {
    case X86_INS_JO:
      taken = of;
      break;
    case X86_INS_JNO:
      taken = !of;
      break;
    case X86_INS_JB:
      taken = cf;
      break;
    case X86_INS_JAE:
      taken = !cf;
      break;
    case X86_INS_JE:
      taken = zf;
      break;
    case X86_INS_JNE:
      taken = !zf;
      break;
    case X86_INS_JBE:
      taken = cf || zf;
      break;
    case X86_INS_JA:
      taken = !cf && !zf;
      break;
    case X86_INS_JS:
      taken = sf;
      break;
    case X86_INS_JNS:
      taken = !sf;
      break;
    case X86_INS_JP:
      taken = pf;
      break;
    case X86_INS_JNP:
      taken = !pf;
      break;
    case X86_INS_JL:
      taken = sf != of;
      break;
    case X86_INS_JGE:
      taken = sf == of;
      break;
    case X86_INS_JLE:
      taken = zf || sf != of;
      break;
    case X86_INS_JG:
      taken = !zf && sf == of;
      break;
    case X86_INS_JRCXZ:
      taken = regs.rcx == 0;
      break;
    case X86_INS_JECXZ:
      taken = (regs.rcx & 0xffffffffu) == 0;
      break;
    case X86_INS_JCXZ:
      taken = (regs.rcx & 0xffffu) == 0;
      break;
    case X86_INS_LOOP:
      taken = rcx_after_loop != 0;
      break;
    case X86_INS_LOOPE:
      taken = rcx_after_loop != 0 && zf;
      break;
    case X86_INS_LOOPNE:
      taken = rcx_after_loop != 0 && !zf;
      break;
    default:
      return Error{EINVAL, "'" + insn.text + "': unknown conditional branch"};
  }
  BranchDecision d;
  d.taken = taken;
  d.next_rip = taken ? insn.branch_target : insn.fall_through();
  d.inverted_rip = taken ? insn.fall_through() : insn.branch_target;
  return d;
}

Result<user_regs_struct> invert_conditional_branch(const DecodedInstruction& insn,
                                                   const user_regs_struct& regs) {
  auto decision = evaluate_conditional_branch(insn, regs);
  if (!decision) return decision.error();
  user_regs_struct out = regs;
  out.rip = decision->inverted_rip;
  if (is_loop(insn.id)) out.rcx = regs.rcx - 1;
  return out;
}

}  // namespace uldd::faultinject
