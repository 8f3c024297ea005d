// x86_64 general-purpose registers by name, as the register SWIFI fault and
// its operators spell them ("rax".."r15", "rip"), mapped onto the
// user_regs_struct that PTRACE_GETREGS / SETREGS exchange.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace uldd::faultinject {

// The 16 general-purpose registers a random register fault chooses from, in
// a fixed order (the choice is an index into this list, so it must not change).
inline constexpr std::array<std::string_view, 16> kGeneralPurposeRegisters{
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

// True for the general-purpose registers and "rip" (only ever chosen when
// named explicitly).
bool is_injectable_register(std::string_view name);

// The field of `regs` holding register `name`, or nullptr.
uint64_t* register_field(user_regs_struct& regs, std::string_view name);

}  // namespace uldd::faultinject
