#include "faultinject/ptrace_session.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "common/unique_fd.h"

namespace uldd::faultinject {
namespace {

// Kernel-internal syscall return codes (include/linux/errno.h) that a ptrace
// stop can show in rax: the kernel restarts the syscall when the thread runs.
constexpr int64_t kRestartSys = -512;
constexpr int64_t kRestartNoIntr = -513;
constexpr int64_t kRestartNoHand = -514;
constexpr int64_t kRestartRestartBlock = -516;
// Bound on signals deferred (or stale stops skipped) while waiting for one stop.
constexpr int kMaxStopsPerWait = 64;

std::string pid_text(pid_t pid) {
  return "pid " + std::to_string(pid);
}

int stop_signal(int code) {
  return code & 0xff;
}
int stop_event(int code) {
  return code >> 8;
}

// A signal the instruction raised itself (fault, trap): the thread cannot run
// that instruction without taking it.
bool synchronous_fault(const siginfo_t& info) {
  return (info.si_signo == SIGSEGV || info.si_signo == SIGBUS || info.si_signo == SIGILL ||
          info.si_signo == SIGFPE) &&
         info.si_code > 0;
}

// The parent pid from /proc/PID/stat ("pid (comm) state ppid ..."), or -1.
pid_t parent_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return -1;
  char stat[512];
  ssize_t n = ::read(fd.get(), stat, sizeof stat - 1);
  if (n <= 0) return -1;
  stat[n] = '\0';
  const char* after_comm = std::strrchr(stat, ')');
  int ppid = -1;
  if (after_comm == nullptr || std::sscanf(after_comm, ") %*c %d", &ppid) != 1) return -1;
  return ppid;
}

}  // namespace

Result<PtraceSession> PtraceSession::attach(pid_t pid, std::chrono::milliseconds stop_timeout) {
  if (pid <= 1 || pid == ::getpid())
    return Error{EINVAL, "ptrace SWIFI: refusing " + pid_text(pid) +
                             " (init, an invalid pid or the injector itself)"};
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
    int code = errno;
    std::string hint;
    if (code == EPERM)
      hint =
          " (already traced, a zombie, or no right to trace it: the supervisor needs "
          "CAP_SYS_PTRACE or the same uid, and Yama's ptrace_scope must allow it)";
    if (code == ESRCH) hint = " (no such process)";
    return Error{code, "ptrace(PTRACE_SEIZE, " + pid_text(pid) + ")" + hint};
  }
  PtraceSession session(pid);
  session.attached_ = true;
  session.tracer_is_parent_ = parent_of(pid) == ::getpid();
  ULDD_TRY(session.ptrace_call(PTRACE_INTERRUPT, 0, 0, "PTRACE_INTERRUPT"));
  ULDD_TRY(session.wait_for_interrupt_stop(stop_timeout));
  return session;
}

PtraceSession::PtraceSession(PtraceSession&& other) noexcept
    : pid_(other.pid_),
      attached_(std::exchange(other.attached_, false)),
      tracer_is_parent_(other.tracer_is_parent_),
      deferred_signals_(std::move(other.deferred_signals_)) {}

PtraceSession::~PtraceSession() {
  (void)detach();
}

Status PtraceSession::ptrace_call(int request, uint64_t address, uint64_t data,
                                  const char* name) const {
  if (::ptrace(static_cast<enum __ptrace_request>(request), pid_, reinterpret_cast<void*>(address),
               reinterpret_cast<void*>(data)) != 0)
    return errno_error(std::string("ptrace(") + name + ", " + pid_text(pid_) + ")");
  return {};
}

Result<int> PtraceSession::wait_for_stop(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int polls = 0;; ++polls) {
    // Look first (WNOWAIT): an exit must stay waitable for the real parent.
    siginfo_t info{};
    if (::waitid(P_PID, pid_, &info, WEXITED | WSTOPPED | WNOWAIT | WNOHANG | __WALL) != 0)
      return errno_error("waitid(" + pid_text(pid_) + ")");
    if (info.si_pid == pid_) {
      if (info.si_code != CLD_TRAPPED && info.si_code != CLD_STOPPED) {
        // A tracer that is not the parent must wait for the zombie once so
        // that the kernel hands it on to the real parent (an adopted driver's).
        if (!tracer_is_parent_) {
          siginfo_t handed_on{};
          ::waitid(P_PID, pid_, &handed_on, WEXITED | WNOHANG | __WALL);
        }
        attached_ = false;  // a dead tracee is no longer traced
        return Error{ESRCH, "ptrace SWIFI: " + pid_text(pid_) +
                                " exited while held (its status is left for its parent)"};
      }
      // Consume the stop; without WEXITED this call can never reap.
      siginfo_t stop{};
      if (::waitid(P_PID, pid_, &stop, WSTOPPED | WNOHANG | __WALL) != 0)
        return errno_error("waitid(WSTOPPED, " + pid_text(pid_) + ")");
      if (stop.si_pid == pid_) return stop.si_status;
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{ETIMEDOUT, "ptrace SWIFI: " + pid_text(pid_) + " did not stop within " +
                                  std::to_string(timeout.count()) + " ms"};
    // A single step stops within microseconds: yield first, then sleep.
    if (polls < 200) {
      ::sched_yield();
    } else {
      struct timespec pause {
        0, 200 * 1000
      };
      ::nanosleep(&pause, nullptr);
    }
  }
}

Status PtraceSession::wait_for_interrupt_stop(std::chrono::milliseconds timeout) {
  for (int i = 0; i < kMaxStopsPerWait; ++i) {
    auto code = wait_for_stop(timeout);
    if (!code) return code.error();
    if (stop_event(code.value()) == PTRACE_EVENT_STOP) return rewind_interrupted_syscall();
    // A signal-delivery stop came first: hold the signal back until detach
    // and let the pending interrupt trap (before any user instruction runs).
    if (stop_event(code.value()) == 0) deferred_signals_.push_back(stop_signal(code.value()));
    ULDD_TRY(ptrace_call(PTRACE_CONT, 0, 0, "PTRACE_CONT"));
  }
  return Error{EAGAIN, "ptrace SWIFI: " + pid_text(pid_) + " kept receiving signals"};
}

Status PtraceSession::rewind_interrupted_syscall() {
  auto regs = get_registers();
  if (!regs) return regs.error();
  user_regs_struct r = regs.value();
  auto result = static_cast<int64_t>(r.rax);
  if (static_cast<int64_t>(r.orig_rax) < 0) return {};  // not in a syscall
  if (result == kRestartSys || result == kRestartNoIntr || result == kRestartNoHand)
    r.rax = r.orig_rax;
  else if (result == kRestartRestartBlock)
    r.rax = SYS_restart_syscall;
  else
    return {};
  r.rip -= 2;  // syscall and int 0x80 are both 2 bytes, as the kernel assumes
  r.orig_rax = ~0ULL;
  return set_registers(r);
}

Status PtraceSession::discard_queued_step_trap() {
  constexpr int kPeek = 32;
  siginfo_t queued[kPeek];
  __ptrace_peeksiginfo_args args{};
  args.off = 0;
  args.flags = 0;  // the thread's own queue, where the kernel puts the step trap
  args.nr = kPeek;
  long n = ::ptrace(PTRACE_PEEKSIGINFO, pid_, &args, queued);
  if (n < 0) return errno_error("ptrace(PTRACE_PEEKSIGINFO, " + pid_text(pid_) + ")");
  bool trap_queued = false;
  for (long i = 0; i < n; ++i) trap_queued |= queued[i].si_signo == SIGTRAP;
  if (!trap_queued) return {};
  // Resuming delivers the queued signals before any user instruction runs, a
  // synchronous one (SIGTRAP) first: stop at its delivery, drop it, and
  // trap again right after.
  ULDD_TRY(ptrace_call(PTRACE_CONT, 0, 0, "PTRACE_CONT"));
  for (int i = 0; i < kMaxStopsPerWait; ++i) {
    auto code = wait_for_stop(std::chrono::milliseconds(2000));
    if (!code) return code.error();
    if (stop_event(code.value()) != 0) {  // nothing was delivered after all
      ULDD_TRY(ptrace_call(PTRACE_CONT, 0, 0, "PTRACE_CONT"));
      continue;
    }
    int signal = stop_signal(code.value());
    if (signal != SIGTRAP) deferred_signals_.push_back(signal);
    // Trap before the next user instruction; resuming with 0 drops this signal.
    ULDD_TRY(ptrace_call(PTRACE_INTERRUPT, 0, 0, "PTRACE_INTERRUPT"));
    ULDD_TRY(ptrace_call(PTRACE_CONT, 0, 0, "PTRACE_CONT"));
    return wait_for_interrupt_stop(std::chrono::milliseconds(2000));
  }
  return Error{EAGAIN, "ptrace SWIFI: " + pid_text(pid_) + ": queued step trap not reached"};
}

Result<user_regs_struct> PtraceSession::get_registers() const {
  user_regs_struct regs{};
  if (::ptrace(PTRACE_GETREGS, pid_, nullptr, &regs) != 0)
    return errno_error("ptrace(PTRACE_GETREGS, " + pid_text(pid_) + ")");
  return regs;
}

Status PtraceSession::set_registers(const user_regs_struct& regs) {
  if (::ptrace(PTRACE_SETREGS, pid_, nullptr, &regs) != 0)
    return errno_error("ptrace(PTRACE_SETREGS, " + pid_text(pid_) + ")");
  return {};
}

Result<uint64_t> PtraceSession::peek(uint64_t address) const {
  errno = 0;
  long word = ::ptrace(PTRACE_PEEKDATA, pid_, reinterpret_cast<void*>(address), nullptr);
  if (word == -1 && errno != 0) {
    char where[32];
    std::snprintf(where, sizeof where, "0x%llx", static_cast<unsigned long long>(address));
    return errno_error("ptrace(PTRACE_PEEKDATA, " + pid_text(pid_) + ", " + where + ")");
  }
  return static_cast<uint64_t>(word);
}

Status PtraceSession::poke(uint64_t address, uint64_t word) {
  if (::ptrace(PTRACE_POKEDATA, pid_, reinterpret_cast<void*>(address),
               reinterpret_cast<void*>(word)) != 0) {
    char where[32];
    std::snprintf(where, sizeof where, "0x%llx", static_cast<unsigned long long>(address));
    return errno_error("ptrace(PTRACE_POKEDATA, " + pid_text(pid_) + ", " + where + ")");
  }
  return {};
}

Result<std::vector<uint8_t>> PtraceSession::read_bytes(uint64_t address, size_t length) const {
  std::vector<uint8_t> out;
  uint64_t word_address = address & ~uint64_t{7};
  while (out.size() < length) {
    auto word = peek(word_address);
    if (!word) {
      if (out.empty()) return word.error();
      break;
    }
    uint8_t bytes[8];
    std::memcpy(bytes, &word.value(), 8);
    for (uint64_t i = 0; i < 8 && out.size() < length; ++i)
      if (word_address + i >= address) out.push_back(bytes[i]);
    word_address += 8;
  }
  return out;
}

Status PtraceSession::write_bytes(uint64_t address, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    uint64_t at = address + done;
    uint64_t word_address = at & ~uint64_t{7};
    auto word = peek(word_address);
    if (!word) return word.error();
    uint8_t buffer[8];
    std::memcpy(buffer, &word.value(), 8);
    for (uint64_t i = at - word_address; i < 8 && done < bytes.size(); ++i)
      buffer[i] = bytes[done++];
    uint64_t updated = 0;
    std::memcpy(&updated, buffer, 8);
    ULDD_TRY(poke(word_address, updated));
  }
  return {};
}

Result<PtraceSession::StepResult> PtraceSession::single_step(std::chrono::milliseconds timeout) {
  for (int i = 0; i < kMaxStopsPerWait; ++i) {
    ULDD_TRY(ptrace_call(PTRACE_SINGLESTEP, 0, 0, "PTRACE_SINGLESTEP"));
    auto code = wait_for_stop(timeout);
    if (!code && code.error().code == ETIMEDOUT) {
      // Blocked in a syscall (a driver waiting for an interrupt): take it back.
      ULDD_TRY(ptrace_call(PTRACE_INTERRUPT, 0, 0, "PTRACE_INTERRUPT"));
      code = wait_for_stop(timeout);
      if (code && stop_event(code.value()) == PTRACE_EVENT_STOP) {
        ULDD_TRY(rewind_interrupted_syscall());
        ULDD_TRY(discard_queued_step_trap());
        return StepResult::kBlocked;
      }
      // Otherwise the step finished meanwhile (the interrupt stays pending and
      // shows up as an event stop at the next resume) or a signal came.
    }
    if (!code) return code.error();
    int signal = stop_signal(code.value());
    int event = stop_event(code.value());
    if (event != 0) continue;  // a stale interrupt or a group-stop: nothing executed yet
    siginfo_t info{};
    if (::ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &info) != 0)
      return errno_error("ptrace(PTRACE_GETSIGINFO, " + pid_text(pid_) + ")");
    if (signal == SIGTRAP && (info.si_code == TRAP_TRACE || info.si_code == TRAP_BRKPT))
      return StepResult::kStepped;
    deferred_signals_.push_back(signal);
    // int3 (SI_KERNEL) has executed; a fault cannot execute until delivered.
    if (signal == SIGTRAP && info.si_code == SI_KERNEL) return StepResult::kStepped;
    if (synchronous_fault(info)) return StepResult::kBlocked;
  }
  return Error{EAGAIN, "ptrace SWIFI: " + pid_text(pid_) + " could not be single-stepped"};
}

Status PtraceSession::detach() {
  if (!attached_) return {};
  if (::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr) != 0) {
    if (errno != ESRCH) return errno_error("ptrace(PTRACE_DETACH, " + pid_text(pid_) + ")");
    // Not in a ptrace-stop (an interrupt still on its way): wait for it.
    auto code = wait_for_stop(std::chrono::milliseconds(10000));
    if (!code && !attached_) return {};  // it exited: nothing to detach from
    if (!code) return code.error();
    if (::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr) != 0)
      return errno_error("ptrace(PTRACE_DETACH, " + pid_text(pid_) + ")");
  }
  attached_ = false;
  // Signals held back while the process was stopped (a detach from an event
  // stop cannot inject one).
  for (int signal : deferred_signals_) ::syscall(SYS_tgkill, pid_, pid_, signal);
  deferred_signals_.clear();
  return {};
}

}  // namespace uldd::faultinject
