#include "faultinject/x86_registers.h"

namespace uldd::faultinject {

static_assert(sizeof(unsigned long long) == sizeof(uint64_t));

bool is_injectable_register(std::string_view name) {
  if (name == "rip") return true;
  for (std::string_view r : kGeneralPurposeRegisters)
    if (r == name) return true;
  return false;
}

uint64_t* register_field(user_regs_struct& regs, std::string_view name) {
  auto field = [](unsigned long long& f) { return reinterpret_cast<uint64_t*>(&f); };
  if (name == "rax") return field(regs.rax);
  if (name == "rbx") return field(regs.rbx);
  if (name == "rcx") return field(regs.rcx);
  if (name == "rdx") return field(regs.rdx);
  if (name == "rsi") return field(regs.rsi);
  if (name == "rdi") return field(regs.rdi);
  if (name == "rbp") return field(regs.rbp);
  if (name == "rsp") return field(regs.rsp);
  if (name == "r8") return field(regs.r8);
  if (name == "r9") return field(regs.r9);
  if (name == "r10") return field(regs.r10);
  if (name == "r11") return field(regs.r11);
  if (name == "r12") return field(regs.r12);
  if (name == "r13") return field(regs.r13);
  if (name == "r14") return field(regs.r14);
  if (name == "r15") return field(regs.r15);
  if (name == "rip") return field(regs.rip);
  return nullptr;
}

}  // namespace uldd::faultinject
