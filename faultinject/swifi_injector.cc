#include "faultinject/swifi_injector.h"

#include <cerrno>
#include <cstdio>

#include "faultinject/instruction_decoder.h"
#include "faultinject/process_memory_map.h"
#include "faultinject/ptrace_session.h"
#include "faultinject/x86_branch.h"
#include "faultinject/x86_registers.h"

namespace uldd::faultinject {
namespace {

constexpr size_t kMaxInstructionBytes = 15;  // Intel SDM vol. 2, 2.3.11

std::string hex(uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

// Everything one injection works with while the process is held.
struct Injection {
  PtraceSession& session;
  const ProcessMemoryMap& maps;
  const InstructionDecoder& decoder;
  SwifiOutcome& out;
};

Result<DecodedInstruction> instruction_at(const Injection& in, uint64_t rip) {
  auto bytes = in.session.read_bytes(rip, kMaxInstructionBytes);
  if (!bytes) return bytes.error();
  return in.decoder.decode(bytes.value(), rip);
}

Status flip_register(Injection& in, const SwifiChoice& choice) {
  auto regs = in.session.get_registers();
  if (!regs) return regs.error();
  uint64_t* field = register_field(regs.value(), choice.reg);
  in.out.target = choice.reg;
  in.out.bit = choice.bit;
  in.out.old_value = *field;
  *field ^= uint64_t{1} << choice.bit;
  in.out.new_value = *field;
  ULDD_TRY(in.session.set_registers(regs.value()));
  in.out.description = in.out.fault + ": " + choice.reg + " bit " + std::to_string(choice.bit) +
                       " " + hex(in.out.old_value) + "->" + hex(in.out.new_value);
  return {};
}

Status flip_memory(Injection& in, const SwifiChoice& choice, MemoryClass memory) {
  auto address = in.maps.address_at(memory, choice.offset);
  if (!address) return address.error();
  auto old_bytes = in.session.read_bytes(address.value(), 1);
  if (!old_bytes) return old_bytes.error();
  uint8_t flipped = static_cast<uint8_t>(old_bytes.value()[0] ^ (1u << choice.bit));
  ULDD_TRY(in.session.write_bytes(address.value(), {&flipped, 1}));
  auto check = in.session.read_bytes(address.value(), 1);
  if (!check) return check.error();
  if (check.value()[0] != flipped)
    return Error{EIO, "ptrace SWIFI: byte at " + hex(address.value()) + " of pid " +
                          std::to_string(in.session.pid()) + " did not take the flipped value"};
  const MemoryMapping* mapping = in.maps.containing(address.value());
  in.out.target = mapping == nullptr || mapping->path.empty() ? "anonymous" : mapping->path;
  in.out.address = address.value();
  in.out.offset = choice.offset;
  in.out.bit = choice.bit;
  in.out.old_value = old_bytes.value()[0];
  in.out.new_value = flipped;
  in.out.description =
      in.out.fault + ": " + std::string(memory_class_name(memory)) + " byte " +
      std::to_string(choice.offset) + " at " + in.maps.describe_address(address.value()) + " bit " +
      std::to_string(choice.bit) + " " + hex(in.out.old_value) + "->" + hex(in.out.new_value);
  return {};
}

Status skip_instruction(Injection& in) {
  auto regs = in.session.get_registers();
  if (!regs) return regs.error();
  auto insn = instruction_at(in, regs->rip);
  if (!insn) return insn.error();
  in.out.instruction = insn->text;
  in.out.instruction_length = insn->length;
  in.out.old_value = regs->rip;
  regs->rip += insn->length;
  in.out.new_value = regs->rip;
  ULDD_TRY(in.session.set_registers(regs.value()));
  in.out.description =
      in.out.fault + ": skipped '" + insn->text + "' (" + std::to_string(insn->length) + " bytes)";
  return {};
}

Status invert_branch(Injection& in) {
  for (uint32_t step = 0; step <= kMaxBranchSearchSteps; ++step) {
    auto regs = in.session.get_registers();
    if (!regs) return regs.error();
    auto insn = instruction_at(in, regs->rip);
    if (!insn) return insn.error();
    if (insn->conditional_branch) {
      auto decision = evaluate_conditional_branch(insn.value(), regs.value());
      if (!decision) return decision.error();
      auto inverted = invert_conditional_branch(insn.value(), regs.value());
      if (!inverted) return inverted.error();
      ULDD_TRY(in.session.set_registers(inverted.value()));
      in.out.rip = regs->rip;
      in.out.rip_location = in.maps.describe_address(regs->rip);
      in.out.branch_search_steps = step;
      in.out.instruction = insn->text;
      in.out.instruction_length = insn->length;
      in.out.branch_was_taken = decision->taken;
      in.out.old_value = decision->next_rip;
      in.out.new_value = decision->inverted_rip;
      in.out.description = in.out.fault + ": '" + insn->text + "' after " + std::to_string(step) +
                           " steps, " + (decision->taken ? "taken" : "not taken") + " -> sent to " +
                           hex(decision->inverted_rip) +
                           (decision->taken ? " (fall-through)" : " (target)");
      return {};
    }
    if (step == kMaxBranchSearchSteps) break;
    auto stepped = in.session.single_step();
    if (!stepped) return stepped.error();
    if (stepped.value() != PtraceSession::StepResult::kStepped)
      return Error{EAGAIN, "swifi-invert-branch: pid " + std::to_string(in.session.pid()) +
                               " blocked in a syscall (or raised a signal) at " +
                               in.maps.describe_address(regs->rip) + " after " +
                               std::to_string(step) +
                               " steps, before any conditional branch (idle? inject under load)"};
  }
  return Error{EAGAIN, "swifi-invert-branch: no conditional branch within " +
                           std::to_string(kMaxBranchSearchSteps) + " instructions"};
}

Status write_busy_loop(Injection& in) {
  auto regs = in.session.get_registers();
  if (!regs) return regs.error();
  auto insn = instruction_at(in, regs->rip);
  if (!insn) return insn.error();
  auto old_bytes = in.session.read_bytes(regs->rip, 2);
  if (!old_bytes) return old_bytes.error();
  if (old_bytes->size() < 2)
    return Error{EFAULT, "busy-loop: fewer than 2 bytes readable at " + hex(regs->rip)};
  const uint8_t jump_to_self[2] = {0xeb, 0xfe};  // jmp $ (rel8 = -2)
  ULDD_TRY(in.session.write_bytes(regs->rip, jump_to_self));
  in.out.address = regs->rip;
  in.out.instruction = insn->text;
  in.out.instruction_length = insn->length;
  in.out.old_value = old_bytes.value()[0] | (uint64_t{old_bytes.value()[1]} << 8);
  in.out.new_value = 0xfeeb;
  in.out.description = in.out.fault + ": 'jmp $' (eb fe) written over '" + insn->text + "'";
  return {};
}

}  // namespace

std::map<std::string, std::string> SwifiOutcome::replay_params() const {
  std::map<std::string, std::string> p{{"seed", std::to_string(seed)}, {"at", std::to_string(at)}};
  if (fault == "swifi-register") {
    p["reg"] = target;
    p["bit"] = std::to_string(bit);
  } else if (fault == "swifi-stack" || fault == "swifi-heap" || fault == "swifi-data" ||
             fault == "swifi-text") {
    p["offset"] = std::to_string(offset);
    p["bit"] = std::to_string(bit);
  }
  return p;
}

Result<SwifiOutcome> inject_swifi_fault(pid_t pid, const SwifiFault& fault) {
  auto decoder = InstructionDecoder::create();
  if (!decoder) return decoder.error();
  auto session = PtraceSession::attach(pid);
  if (!session) return session.error();
  // The layout is read while the process is stopped; the choice depends on it.
  auto maps = ProcessMemoryMap::read(pid);
  if (!maps) return maps.error();
  std::optional<MemoryClass> memory = swifi_memory_class(fault.kind);
  uint64_t seed = fault.seed.value_or(fresh_swifi_seed());
  auto choice = choose_swifi_target(fault, seed, memory ? maps->class_size(*memory) : 0);
  if (!choice) return choice.error();

  SwifiOutcome out;
  out.fault = fault.name;
  out.seed = seed;
  out.at = choice->at;
  while (out.steps_done < choice->at) {
    auto stepped = session->single_step();
    if (!stepped) return stepped.error();
    if (stepped.value() != PtraceSession::StepResult::kStepped) break;
    ++out.steps_done;
  }
  auto regs = session->get_registers();
  if (!regs) return regs.error();
  out.rip = regs->rip;
  out.rip_location = maps->describe_address(regs->rip);
  if (const MemoryMapping* m = maps->containing(regs->rip)) out.target = m->path;

  Injection in{session.value(), maps.value(), decoder.value(), out};
  Status done;
  switch (fault.kind) {
    case SwifiKind::kRegister:
      done = flip_register(in, choice.value());
      break;
    case SwifiKind::kStack:
    case SwifiKind::kHeap:
    case SwifiKind::kData:
    case SwifiKind::kText:
      done = flip_memory(in, choice.value(), *memory);
      break;
    case SwifiKind::kSkipInstruction:
      done = skip_instruction(in);
      break;
    case SwifiKind::kInvertBranch:
      done = invert_branch(in);
      break;
    case SwifiKind::kBusyLoop:
      done = write_busy_loop(in);
      break;
  }
  if (!done) return done.error();
  ULDD_TRY(session->detach());
  out.description += " at rip " + out.rip_location + " (seed " + std::to_string(seed) + ", at " +
                     std::to_string(out.at);
  if (out.steps_done < out.at)
    out.description += ", stepped " + std::to_string(out.steps_done) + ": blocked in a syscall";
  out.description += ")";
  return out;
}

}  // namespace uldd::faultinject
