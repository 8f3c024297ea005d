// InstructionDecoder: x86_64 instruction lengths and branch targets for the
// SWIFI faults that work on "the next instruction" (skip it, invert it when
// it is a conditional branch). Wraps a capstone handle (RAII) so that the
// injector never guesses an instruction length.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"

namespace uldd::faultinject {

struct DecodedInstruction {
  uint64_t address = 0;
  uint32_t length = 0;  // bytes
  std::string text;     // "jne 0x55d0c0001a40"
  unsigned id = 0;      // capstone x86_insn (X86_INS_JNE, ...)
  // jcc, jrcxz/jecxz and loop/loope/loopne: taken when the condition holds,
  // else execution falls through to address + length.
  bool conditional_branch = false;
  uint64_t branch_target = 0;  // conditional branches only
  uint64_t fall_through() const { return address + length; }
};

class InstructionDecoder {
 public:
  static Result<InstructionDecoder> create();
  InstructionDecoder(InstructionDecoder&& other) noexcept;
  InstructionDecoder& operator=(InstructionDecoder&&) = delete;
  InstructionDecoder(const InstructionDecoder&) = delete;
  InstructionDecoder& operator=(const InstructionDecoder&) = delete;
  ~InstructionDecoder();

  // Decodes the instruction at the start of `bytes` (read from `address`;
  // up to 15 bytes are needed). EILSEQ: not a valid instruction.
  Result<DecodedInstruction> decode(std::span<const uint8_t> bytes, uint64_t address) const;

 private:
  explicit InstructionDecoder(size_t handle) : handle_(handle) {}
  size_t handle_ = 0;  // csh
};

}  // namespace uldd::faultinject
