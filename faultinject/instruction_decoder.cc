#include "faultinject/instruction_decoder.h"

#include <capstone/capstone.h>

#include <cerrno>
#include <cstdio>
#include <utility>

namespace uldd::faultinject {
namespace {

bool is_conditional_branch(unsigned id) {
  switch (id) {
    case X86_INS_JAE:
    case X86_INS_JA:
    case X86_INS_JBE:
    case X86_INS_JB:
    case X86_INS_JCXZ:
    case X86_INS_JECXZ:
    case X86_INS_JRCXZ:
    case X86_INS_JE:
    case X86_INS_JGE:
    case X86_INS_JG:
    case X86_INS_JLE:
    case X86_INS_JL:
    case X86_INS_JNE:
    case X86_INS_JNO:
    case X86_INS_JNP:
    case X86_INS_JNS:
    case X86_INS_JO:
    case X86_INS_JP:
    case X86_INS_JS:
    case X86_INS_LOOP:
    case X86_INS_LOOPE:
    case X86_INS_LOOPNE:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<InstructionDecoder> InstructionDecoder::create() {
  csh handle = 0;
  if (cs_err err = cs_open(CS_ARCH_X86, CS_MODE_64, &handle); err != CS_ERR_OK)
    return Error{ENOSYS, std::string("cs_open(x86_64): ") + cs_strerror(err)};
  if (cs_err err = cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON); err != CS_ERR_OK) {
    cs_close(&handle);
    return Error{ENOSYS, std::string("cs_option(CS_OPT_DETAIL): ") + cs_strerror(err)};
  }
  return InstructionDecoder(handle);
}

InstructionDecoder::InstructionDecoder(InstructionDecoder&& other) noexcept
    : handle_(std::exchange(other.handle_, 0)) {}

InstructionDecoder::~InstructionDecoder() {
  if (handle_ != 0) {
    csh handle = handle_;
    cs_close(&handle);
  }
}

Result<DecodedInstruction> InstructionDecoder::decode(std::span<const uint8_t> bytes,
                                                      uint64_t address) const {
  cs_insn* insn = nullptr;
  size_t count = cs_disasm(handle_, bytes.data(), bytes.size(), address, 1, &insn);
  if (count == 0) {
    char where[32];
    std::snprintf(where, sizeof where, "0x%llx", static_cast<unsigned long long>(address));
    return Error{EILSEQ, std::string("no valid x86_64 instruction at ") + where};
  }
  DecodedInstruction out;
  out.address = insn->address;
  out.length = insn->size;
  out.id = insn->id;
  out.text = insn->mnemonic;
  if (insn->op_str[0] != '\0') out.text += std::string(" ") + insn->op_str;
  // Conditional branches: the JUMP group minus the unconditional jumps, all
  // with one relative (capstone: absolute target) immediate operand.
  bool jump_group = cs_insn_group(handle_, insn, CS_GRP_JUMP) || insn->id == X86_INS_LOOP ||
                    insn->id == X86_INS_LOOPE || insn->id == X86_INS_LOOPNE;
  if (jump_group && is_conditional_branch(insn->id) && insn->detail->x86.op_count >= 1 &&
      insn->detail->x86.operands[0].type == X86_OP_IMM) {
    out.conditional_branch = true;
    out.branch_target = static_cast<uint64_t>(insn->detail->x86.operands[0].imm);
  }
  cs_free(insn, count);
  return out;
}

}  // namespace uldd::faultinject
