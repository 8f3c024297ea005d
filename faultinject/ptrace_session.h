// PtraceSession: the fault injector's hold on one running process (a driver)
// while it alters its registers or memory, in the MINIX 3 / Nooks SWIFI
// manner. Attaching (PTRACE_SEIZE + PTRACE_INTERRUPT) stops the thread; the
// destructor always detaches and leaves the process running (or stopped, if
// it was group-stopped before), so that no error path can leave a driver
// traced by the supervisor or stuck in a ptrace-stop. Every ptrace / wait
// error becomes an uldd::Error once, here, naming the call and the pid.
//
// Waiting never reaps: an exit of the tracee is seen with WNOWAIT and left
// for its real parent (the supervisor's pidfd watch; a tracer that is not the
// parent, e.g. of an adopted driver, hands the zombie on), reported as ESRCH.
// Signals that arrive while the process is held are deferred and delivered
// when it is detached. Only the thread `pid` is stopped and inspected; other
// threads of a multi-threaded process keep running.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"

#if !defined(__x86_64__)
#error "faultinject's ptrace SWIFI supports x86_64 only (user_regs_struct, instruction decoding)"
#endif

namespace uldd::faultinject {

class PtraceSession {
 public:
  // How a single step ended.
  enum class StepResult {
    kStepped,  // one instruction (or one iteration of a rep-prefixed one) executed
    kBlocked,  // the instruction (a syscall) did not finish within the timeout; the
               // thread was interrupted and is back before that instruction
  };

  // Seizes `pid` and stops it; fails with the errno of the call that failed
  // (ESRCH: no such process; EPERM: already traced, or no right to trace it
  // — the supervisor needs CAP_SYS_PTRACE over a driver of another uid;
  // ETIMEDOUT: it did not stop within `stop_timeout`, e.g. uninterruptible
  // sleep). Refuses pid <= 1 and the calling process itself (EINVAL).
  static Result<PtraceSession> attach(
      pid_t pid, std::chrono::milliseconds stop_timeout = std::chrono::milliseconds(2000));

  PtraceSession(PtraceSession&& other) noexcept;
  PtraceSession& operator=(PtraceSession&& other) = delete;
  PtraceSession(const PtraceSession&) = delete;
  PtraceSession& operator=(const PtraceSession&) = delete;
  ~PtraceSession();  // detach(), errors ignored

  pid_t pid() const { return pid_; }

  Result<user_regs_struct> get_registers() const;
  Status set_registers(const user_regs_struct& regs);

  // Word access (PTRACE_PEEKDATA / POKEDATA: forced access, so a read-only
  // or execute-only private mapping is written copy-on-write, in this
  // process only).
  Result<uint64_t> peek(uint64_t address) const;
  Status poke(uint64_t address, uint64_t word);
  // Up to `length` bytes from `address`; stops early at an unreadable word
  // (EFAULT only when not even the first byte is readable).
  Result<std::vector<uint8_t>> read_bytes(uint64_t address, size_t length) const;
  // Read-modify-write of the words covering [address, address + bytes.size()).
  Status write_bytes(uint64_t address, std::span<const uint8_t> bytes);

  // Executes one instruction. A thread blocked in a syscall longer than
  // `timeout` is interrupted and reported as kBlocked (the syscall will be
  // restarted when it runs again).
  Result<StepResult> single_step(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(250));

  // Detaches, delivering the first deferred signal (the others are re-sent
  // with tgkill). Idempotent; after an exit of the tracee, a no-op.
  Status detach();

 private:
  explicit PtraceSession(pid_t pid) : pid_(pid) {}

  // Waits (without reaping) until the thread is in a ptrace-stop and returns
  // the stop's exit code (signal | event << 8). ESRCH when it exited.
  Result<int> wait_for_stop(std::chrono::milliseconds timeout);
  // Waits for the PTRACE_INTERRUPT stop, deferring signal-delivery stops.
  Status wait_for_interrupt_stop(std::chrono::milliseconds timeout);
  // After an interrupt stop inside a syscall that the kernel would restart,
  // puts the thread at the syscall instruction as the kernel would (rip - 2,
  // rax = the syscall number), so that rip is an instruction boundary that
  // may be changed safely.
  Status rewind_interrupted_syscall();
  // A step interrupted inside a syscall leaves the step's SIGTRAP queued (the
  // kernel reports the step at syscall exit); it would kill the process
  // after detach. Takes it out of the queue, leaving the thread stopped.
  Status discard_queued_step_trap();
  Status ptrace_call(int request, uint64_t address, uint64_t data, const char* name) const;

  pid_t pid_ = -1;
  bool attached_ = false;
  bool tracer_is_parent_ = true;  // else an exit is handed on to the real parent
  std::vector<int> deferred_signals_;
};

}  // namespace uldd::faultinject
