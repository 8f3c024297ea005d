// uldd-swifi-target: a victim process for the SWIFI tests
// (faultinject/swifi_injector_test.cc). It keeps one known value in each
// memory class — stack, heap, data and (as an instruction immediate) text —
// prints their addresses, then reports them in a deterministic loop, so that a
// flipped bit shows in its output:
//
//   uldd-swifi-target run    "addresses data=0x.. heap=0x.. stack=0x.. text=0x.."
//                            then every ~5 ms "tick N data=.. heap=.. stack=.. text=.."
//   uldd-swifi-target spin   "ready", then spins on a flag that is never set;
//                            if a branch inversion takes the other way it prints
//                            "branch inverted" and exits with status 3.
//   uldd-swifi-target block  "ready", then blocks reading stdin (an idle driver
//                            waiting for an interrupt) and prints "woke" per byte.
//
// Built without sanitizers (a plain victim: glibc's heap, the real stack), and
// with the default actions for the fault signals, so that a corrupted target
// dies of the signal its fault raises.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace {

volatile uint64_t g_data_value = 0x1111111111111111ULL;  // .data
volatile uint64_t g_never = 0;                           // the spin mode's flag
volatile uint64_t g_work = 0;                            // keeps the run loop's iterations real

// The value lives in the instruction stream (mov eax, imm32): a text fault on
// one of its immediate bytes changes what this returns.
__attribute__((noinline)) uint64_t text_marker() {
  uint64_t value;
  asm volatile("movl $0x12345678, %k0" : "=r"(value));
  return value;
}

void say(const char* text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, text, left);
    if (n <= 0) std::_Exit(2);  // the test went away
    text += n;
    left -= static_cast<size_t>(n);
  }
}

uint64_t now_ms() {
  struct timespec t {};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000 + static_cast<uint64_t>(t.tv_nsec) / 1000000;
}

}  // namespace

int main(int argc, char** argv) {
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(sig, &dfl, nullptr);
  }
  const char* mode = argc > 1 ? argv[1] : "run";
  char line[256];
  if (std::strcmp(mode, "spin") == 0) {
    say("ready\n");
    for (;;) {
      if (g_never != 0) {
        say("branch inverted\n");
        std::_Exit(3);
      }
    }
  }
  if (std::strcmp(mode, "block") == 0) {
    say("ready\n");
    for (;;) {
      char byte = 0;
      ssize_t n = ::read(STDIN_FILENO, &byte, 1);
      if (n == 0) std::_Exit(0);
      if (n > 0) say("woke\n");
    }
  }
  volatile uint64_t stack_value = 0x2222222222222222ULL;
  auto* heap_value = static_cast<volatile uint64_t*>(std::malloc(sizeof(uint64_t)));
  *heap_value = 0x3333333333333333ULL;
  std::snprintf(line, sizeof line, "addresses data=%p heap=%p stack=%p text=%p\n",
                static_cast<void*>(const_cast<uint64_t*>(&g_data_value)),
                static_cast<void*>(const_cast<uint64_t*>(heap_value)),
                static_cast<void*>(const_cast<uint64_t*>(&stack_value)),
                reinterpret_cast<void*>(&text_marker));
  say(line);
  uint64_t tick = 0;
  uint64_t next = now_ms();
  for (;;) {
    uint64_t work = g_work + 1;
    g_work = work;
    if ((work & 0xfff) != 0) continue;  // user-space work between clock reads
    if (now_ms() < next) continue;
    next = now_ms() + 5;
    std::snprintf(
        line, sizeof line, "tick %llu data=%llx heap=%llx stack=%llx text=%llx\n",
        static_cast<unsigned long long>(tick++), static_cast<unsigned long long>(g_data_value),
        static_cast<unsigned long long>(*heap_value), static_cast<unsigned long long>(stack_value),
        static_cast<unsigned long long>(text_marker()));
    say(line);
  }
}
