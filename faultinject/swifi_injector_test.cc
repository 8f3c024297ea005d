// SWIFI against a real victim (uldd-swifi-target, faultinject/testing/): each
// fault type is shown to fire — the target's output changes, it dies of the
// fault, or the exact register / byte is read back — and the injector is
// shown to leave the target running and untraced, to replay a seed, and to
// refuse what it cannot trace.
#include "faultinject/swifi_injector.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "faultinject/process_memory_map.h"
#include "faultinject/ptrace_session.h"
#include "faultinject/testing/swifi_target_process.h"

namespace uldd::faultinject {
namespace {

using std::chrono::milliseconds;
using Target = SwifiTargetProcess;
using Values = TargetValues;

// "TracerPid:" and "State:" of /proc/PID/status.
std::string status_field(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string l;
  while (std::getline(in, l))
    if (l.rfind(name + ":", 0) == 0) {
      std::string v = l.substr(name.size() + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  return "";
}

// Waits until the "spin" target has spent 30 ms in user mode: past its one
// write(), in the loop it never leaves.
bool spinning(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + milliseconds(3000);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 14 && fields >> field; ++i) {  // field 14: utime, in clock ticks
    }
    if (!field.empty() && std::stoll(field) * 1000 / ::sysconf(_SC_CLK_TCK) >= 30) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return false;
}

// Waits until the "block" target sits in read() (syscall 0 in /proc/PID/syscall).
bool blocked_in_read(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + milliseconds(3000);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/syscall");
    std::string number;
    if (in >> number && number == "0") {
      std::this_thread::sleep_for(milliseconds(5));  // asleep in it, not just entering
      return true;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  return false;
}

Result<SwifiOutcome> inject(pid_t pid, const std::string& type,
                            const std::map<std::string, std::string>& params) {
  auto fault = parse_swifi_fault(type, params);
  if (!fault) return fault.error();
  auto out = inject_swifi_fault(pid, fault.value());
  // Every injection in the log, as a campaign report would list it.
  std::printf("%s\n", out ? out->description.c_str() : out.error().describe().c_str());
  return out;
}

std::vector<uint8_t> read_memory(pid_t pid, uint64_t address, size_t length) {
  std::vector<uint8_t> bytes(length);
  int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::pread(fd, bytes.data(), length, static_cast<off_t>(address)),
            static_cast<ssize_t>(length));
  ::close(fd);
  return bytes;
}

TEST(SwifiInjector, StackHeapAndDataFlipsShowInTheTargetsOutput) {
  Target t("run");
  auto where = t.addresses();
  ASSERT_TRUE(where);
  auto before = t.fresh_tick();
  ASSERT_TRUE(before);
  auto map = ProcessMemoryMap::read(t.pid());
  ASSERT_TRUE(map) << map.error().describe();
  struct Case {
    const char* type;
    MemoryClass memory;
    uint64_t address;
    uint64_t Values::*field;
  };
  for (const Case& c : {Case{"swifi-stack", MemoryClass::kStack, where->stack, &Values::stack},
                        Case{"swifi-heap", MemoryClass::kHeap, where->heap, &Values::heap},
                        Case{"swifi-data", MemoryClass::kData, where->data, &Values::data}}) {
    auto offset = map->offset_of(c.memory, c.address);
    ASSERT_TRUE(offset) << c.type << ": the value is not in its class";
    auto out =
        inject(t.pid(), c.type,
               {{"offset", std::to_string(*offset)}, {"bit", "3"}, {"at", "0"}, {"seed", "5"}});
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->address, c.address);
    EXPECT_EQ(out->old_value ^ out->new_value, 8u);
    EXPECT_NE(out->description.find(c.type), std::string::npos);
    auto after = t.fresh_tick();
    ASSERT_TRUE(after) << c.type << ": the target stopped printing";
    EXPECT_EQ((*after).*c.field, (*before).*c.field ^ 8u) << out->description;
  }
  EXPECT_EQ(status_field(t.pid(), "TracerPid"), "0");
}

TEST(SwifiInjector, TextFlipChangesThisProcessOnly) {
  Target victim("run"), bystander("run");
  auto where = victim.addresses();
  ASSERT_TRUE(where && bystander.addresses());
  // text_marker() is "mov $0x12345678, %eax; ret": find the immediate.
  std::vector<uint8_t> code = read_memory(victim.pid(), where->text, 32);
  const uint8_t imm[4] = {0x78, 0x56, 0x34, 0x12};
  auto found = std::search(code.begin(), code.end(), imm, imm + 4);
  ASSERT_NE(found, code.end());
  uint64_t address = where->text + static_cast<uint64_t>(found - code.begin());
  auto map = ProcessMemoryMap::read(victim.pid());
  ASSERT_TRUE(map);
  auto offset = map->offset_of(MemoryClass::kText, address);
  ASSERT_TRUE(offset);
  auto out = inject(victim.pid(), "swifi-text",
                    {{"offset", std::to_string(*offset)}, {"bit", "0"}, {"at", "0"}});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->old_value, 0x78u);
  EXPECT_EQ(out->new_value, 0x79u);
  EXPECT_EQ(read_memory(victim.pid(), address, 1)[0], 0x79);
  auto v = victim.fresh_tick();
  auto b = bystander.fresh_tick();
  ASSERT_TRUE(v && b);
  EXPECT_EQ(v->text, 0x12345679u) << out->description;
  EXPECT_EQ(b->text, 0x12345678u);
}

TEST(SwifiInjector, RegisterFlipIsReadBackAndSeedReplays) {
  Target t("run");
  ASSERT_TRUE(t.addresses());
  t.stop();
  auto out = inject(t.pid(), "swifi-register",
                    {{"reg", "r12"}, {"bit", "17"}, {"at", "0"}, {"seed", "42"}});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->target, "r12");
  EXPECT_EQ(out->old_value ^ out->new_value, 1u << 17);
  EXPECT_NE(out->description.find("r12 bit 17"), std::string::npos) << out->description;
  EXPECT_NE(out->description.find("seed 42, at 0"), std::string::npos) << out->description;
  EXPECT_EQ(status_field(t.pid(), "TracerPid"), "0");
  // Still stopped as before (after the detach it passes through R on its way
  // back into the group stop).
  auto deadline = std::chrono::steady_clock::now() + milliseconds(2000);
  while (status_field(t.pid(), "State")[0] != 'T' && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(status_field(t.pid(), "State")[0], 'T');
  {
    auto look = PtraceSession::attach(t.pid());
    ASSERT_TRUE(look) << look.error().describe();
    auto regs = look->get_registers();
    ASSERT_TRUE(regs);
    EXPECT_EQ(regs->r12, out->new_value);
    EXPECT_EQ(regs->rip, out->rip);
  }
  // Replay: the same seed on the same (stopped) state makes the same choice,
  // with or without the drawn values spelled out.
  auto first = inject(t.pid(), "swifi-register", {});
  ASSERT_TRUE(first) << first.error().describe();
  auto again = inject(t.pid(), "swifi-register", {{"seed", std::to_string(first->seed)}});
  auto spelled = inject(t.pid(), "swifi-register", first->replay_params());
  ASSERT_TRUE(again && spelled);
  for (const SwifiOutcome* o : {&again.value(), &spelled.value()}) {
    EXPECT_EQ(o->target, first->target);
    EXPECT_EQ(o->bit, first->bit);
    EXPECT_EQ(o->at, first->at);
  }
}

TEST(SwifiInjector, MemoryChoiceReplaysFromTheSeed) {
  Target t("run");
  ASSERT_TRUE(t.addresses());
  t.stop();
  auto first = inject(t.pid(), "swifi-heap", {{"at", "0"}});
  ASSERT_TRUE(first) << first.error().describe();
  auto again = inject(t.pid(), "swifi-heap", {{"at", "0"}, {"seed", std::to_string(first->seed)}});
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->offset, first->offset);
  EXPECT_EQ(again->address, first->address);
  EXPECT_EQ(again->bit, first->bit);
  EXPECT_EQ(again->old_value, first->new_value);  // the second flip undid the first
  EXPECT_EQ(again->new_value, first->old_value);
}

TEST(SwifiInjector, RipFlipCrashesTheTarget) {
  Target t("run");
  ASSERT_TRUE(t.addresses());
  auto out = inject(t.pid(), "swifi-register", {{"reg", "rip"}, {"bit", "47"}, {"at", "0"}});
  ASSERT_TRUE(out) << out.error().describe();
  auto status = t.wait_exit(milliseconds(3000));
  ASSERT_TRUE(status) << "still running after " << out->description;
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGSEGV) << *status;
}

TEST(SwifiInjector, SkipInstructionAdvancesRipByItsLength) {
  Target t("run");
  ASSERT_TRUE(t.addresses());
  t.stop();
  auto out = inject(t.pid(), "swifi-skip-instruction", {{"at", "3"}, {"seed", "1"}});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_FALSE(out->instruction.empty());
  EXPECT_GE(out->instruction_length, 1u);
  EXPECT_EQ(out->new_value, out->old_value + out->instruction_length);
  auto look = PtraceSession::attach(t.pid());
  ASSERT_TRUE(look) << look.error().describe();
  EXPECT_EQ(look->get_registers()->rip, out->new_value) << out->description;
}

TEST(SwifiInjector, InvertedBranchTakesThePathNeverTaken) {
  Target t("spin");
  ASSERT_EQ(t.line(), "ready");
  ASSERT_TRUE(spinning(t.pid()));
  auto out = inject(t.pid(), "swifi-invert-branch", {{"at", "0"}});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->instruction[0], 'j') << out->description;
  EXPECT_EQ(t.line(), "branch inverted") << out->description;
  auto status = t.wait_exit(milliseconds(3000));
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 3);
}

TEST(SwifiInjector, BusyLoopStopsProgressButTheTargetKeepsRunning) {
  Target t("run");
  ASSERT_TRUE(t.addresses() && t.fresh_tick());
  auto out = inject(t.pid(), "busy-loop", {});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->new_value, 0xfeebu);
  EXPECT_EQ(read_memory(t.pid(), out->address, 2), (std::vector<uint8_t>{0xeb, 0xfe}));
  t.drain();
  EXPECT_FALSE(t.line(milliseconds(300))) << "still printing after " << out->description;
  EXPECT_EQ(status_field(t.pid(), "State")[0], 'R');
  EXPECT_EQ(status_field(t.pid(), "TracerPid"), "0");
}

TEST(SwifiInjector, AFaultWithoutEffectLeavesTheTargetRunningUntraced) {
  Target t("run");
  ASSERT_TRUE(t.addresses());
  auto before = t.fresh_tick();
  ASSERT_TRUE(before);
  // The lowest byte of the stack mapping lies far below any frame.
  auto out = inject(t.pid(), "swifi-stack", {{"offset", "0"}, {"bit", "0"}, {"at", "50"}});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->at, 50u);
  EXPECT_EQ(status_field(t.pid(), "TracerPid"), "0");
  auto after = t.fresh_tick();
  ASSERT_TRUE(after) << "stopped printing after " << out->description;
  EXPECT_EQ(after->stack, before->stack);
  EXPECT_EQ(after->heap, before->heap);
  EXPECT_EQ(after->text, before->text);
  char state = status_field(t.pid(), "State")[0];
  EXPECT_TRUE(state == 'R' || state == 'S') << state;
}

// A driver is mostly idle, blocked in a syscall: the injector must not hang
// on it, and the syscall must still work afterwards.
TEST(SwifiInjector, ABlockedTargetIsInjectedWhereItWaitsAndStillWorks) {
  Target t("block");
  ASSERT_EQ(t.line(), "ready");
  ASSERT_TRUE(blocked_in_read(t.pid()));
  auto out = inject(t.pid(), "swifi-stack", {{"offset", "0"}, {"at", "10"}});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->steps_done, 0u);
  EXPECT_NE(out->description.find("blocked in a syscall"), std::string::npos);
  EXPECT_EQ(status_field(t.pid(), "TracerPid"), "0");
  ASSERT_TRUE(t.poke_stdin());
  EXPECT_EQ(t.line(), "woke");  // the interrupted read() was restarted
  ASSERT_TRUE(blocked_in_read(t.pid()));

  auto branch = inject(t.pid(), "swifi-invert-branch", {{"at", "0"}});
  ASSERT_FALSE(branch);
  EXPECT_EQ(branch.error().code, EAGAIN);
  EXPECT_NE(branch.error().message.find("blocked in a syscall"), std::string::npos);
  EXPECT_EQ(status_field(t.pid(), "TracerPid"), "0");
  ASSERT_TRUE(t.poke_stdin());
  EXPECT_EQ(t.line(), "woke");
}

TEST(SwifiInjector, BusyLoopOnABlockedTargetSpinsInsteadOfWaiting) {
  Target t("block");
  ASSERT_EQ(t.line(), "ready");
  ASSERT_TRUE(blocked_in_read(t.pid()));
  auto out = inject(t.pid(), "busy-loop", {{"at", "0"}});
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->instruction, "syscall");  // rewound to the interrupted read()
  ASSERT_TRUE(t.poke_stdin());
  EXPECT_FALSE(t.line(milliseconds(200)));
  EXPECT_EQ(status_field(t.pid(), "State")[0], 'R');
}

TEST(PtraceSession, AnExitWhileHeldIsLeftForTheParent) {
  Target t("run");
  ASSERT_TRUE(t.addresses());
  auto held = PtraceSession::attach(t.pid());
  ASSERT_TRUE(held) << held.error().describe();
  ASSERT_EQ(::kill(t.pid(), SIGKILL), 0);
  auto step = held->single_step();
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ESRCH);
  EXPECT_TRUE(held->detach());                    // nothing left to detach
  auto status = t.wait_exit(milliseconds(3000));  // the parent still reaps it
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
}

TEST(SwifiInjector, RefusesWhatItCannotTrace) {
  auto fault = parse_swifi_fault("swifi-register", {});
  ASSERT_TRUE(fault);
  auto self = inject_swifi_fault(::getpid(), fault.value());
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().code, EINVAL);

  pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  auto missing = inject_swifi_fault(gone, fault.value());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ESRCH);
  EXPECT_NE(missing.error().message.find("PTRACE_SEIZE, pid " + std::to_string(gone)),
            std::string::npos)
      << missing.error().message;

  Target t("run");
  ASSERT_TRUE(t.addresses());
  {
    auto held = PtraceSession::attach(t.pid());
    ASSERT_TRUE(held) << held.error().describe();
    auto busy = inject_swifi_fault(t.pid(), fault.value());
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, EPERM);
    EXPECT_NE(busy.error().message.find("already traced"), std::string::npos);
  }
  // Released: running and untraced again.
  EXPECT_TRUE(t.fresh_tick());
  EXPECT_EQ(status_field(t.pid(), "TracerPid"), "0");
}

}  // namespace
}  // namespace uldd::faultinject
