#include "faultinject/x86_branch.h"

#include <gtest/gtest.h>

#include <vector>

#include "faultinject/instruction_decoder.h"

namespace uldd::faultinject {
namespace {

constexpr uint64_t kZf = 1u << 6, kCf = 1u << 0, kSf = 1u << 7, kOf = 1u << 11;

DecodedInstruction decode(std::vector<uint8_t> bytes, uint64_t address = 0x1000) {
  auto decoder = InstructionDecoder::create();
  EXPECT_TRUE(decoder) << decoder.error().describe();
  auto insn = decoder->decode(bytes, address);
  EXPECT_TRUE(insn) << insn.error().describe();
  return insn.ok() ? insn.value() : DecodedInstruction{};
}

TEST(InstructionDecoder, LengthsAndBranchKinds) {
  DecodedInstruction mov = decode({0x48, 0x89, 0xc3, 0x90});
  EXPECT_EQ(mov.length, 3u);
  EXPECT_EQ(mov.text, "mov rbx, rax");
  EXPECT_FALSE(mov.conditional_branch);
  EXPECT_FALSE(decode({0xeb, 0xfe}).conditional_branch);  // jmp $: unconditional
  EXPECT_FALSE(decode({0xc3}).conditional_branch);        // ret
  DecodedInstruction je = decode({0x74, 0x10});
  EXPECT_TRUE(je.conditional_branch);
  EXPECT_EQ(je.branch_target, 0x1012u);
  EXPECT_EQ(je.fall_through(), 0x1002u);
  DecodedInstruction jne32 = decode({0x0f, 0x85, 0x00, 0x01, 0x00, 0x00});
  EXPECT_TRUE(jne32.conditional_branch);
  EXPECT_EQ(jne32.length, 6u);
  EXPECT_EQ(jne32.branch_target, 0x1106u);
  EXPECT_TRUE(decode({0xe2, 0xfe}).conditional_branch);  // loop $
  EXPECT_TRUE(decode({0xe3, 0x05}).conditional_branch);  // jrcxz

  auto decoder = InstructionDecoder::create();
  std::vector<uint8_t> truncated{0x0f};
  auto bad = decoder->decode(truncated, 0x1000);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, EILSEQ);
}

TEST(X86Branch, ConditionsFollowEflags) {
  user_regs_struct regs{};
  DecodedInstruction je = decode({0x74, 0x10});
  regs.eflags = kZf;
  auto d = evaluate_conditional_branch(je, regs);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->taken);
  EXPECT_EQ(d->next_rip, 0x1012u);
  EXPECT_EQ(d->inverted_rip, 0x1002u);
  regs.eflags = 0;
  EXPECT_FALSE(evaluate_conditional_branch(je, regs)->taken);

  DecodedInstruction jl = decode({0x7c, 0x10});
  regs.eflags = kSf;
  EXPECT_TRUE(evaluate_conditional_branch(jl, regs)->taken);
  regs.eflags = kSf | kOf;
  EXPECT_FALSE(evaluate_conditional_branch(jl, regs)->taken);
  DecodedInstruction ja = decode({0x77, 0x10});
  regs.eflags = 0;
  EXPECT_TRUE(evaluate_conditional_branch(ja, regs)->taken);
  regs.eflags = kCf;
  EXPECT_FALSE(evaluate_conditional_branch(ja, regs)->taken);

  DecodedInstruction jrcxz = decode({0xe3, 0x05});
  regs.rcx = 0;
  EXPECT_TRUE(evaluate_conditional_branch(jrcxz, regs)->taken);
  regs.rcx = 1ull << 40;
  EXPECT_FALSE(evaluate_conditional_branch(jrcxz, regs)->taken);

  auto not_branch = evaluate_conditional_branch(decode({0x90}), regs);
  ASSERT_FALSE(not_branch);
  EXPECT_EQ(not_branch.error().code, EINVAL);
}

TEST(X86Branch, InvertingGoesTheOtherWayAndKeepsLoopSemantics) {
  user_regs_struct regs{};
  regs.rip = 0x1000;
  DecodedInstruction jne = decode({0x75, 0x20});
  regs.eflags = 0;  // ZF clear: jne taken
  auto inverted = invert_conditional_branch(jne, regs);
  ASSERT_TRUE(inverted);
  EXPECT_EQ(inverted->rip, 0x1002u);  // fall-through instead
  regs.eflags = kZf;
  EXPECT_EQ(invert_conditional_branch(jne, regs)->rip, 0x1022u);

  DecodedInstruction loop = decode({0xe2, 0xfe});  // loop $
  regs.rcx = 5;  // taken (rcx becomes 4): inverted falls through, rcx still 4
  auto l = invert_conditional_branch(loop, regs);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->rip, 0x1002u);
  EXPECT_EQ(l->rcx, 4u);
  regs.rcx = 1;  // not taken (rcx becomes 0): inverted loops again
  EXPECT_EQ(invert_conditional_branch(loop, regs)->rip, 0x1000u);
}

}  // namespace
}  // namespace uldd::faultinject
