// Two processes, one ring region, two eventfds: the shim/driver handshake of
// ARCHITECTURE.md under load. The parent plays the shim (request producer,
// completion consumer), a forked child plays the driver (request consumer,
// completion producer and echo). Every descriptor is checked in order on both
// sides, and both sides sleep only through the need-wakeup protocol, so a lost
// wakeup shows up as a stall: each side fails after 10 s without progress.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "abi/block_descriptor.h"
#include "abi/ring_region.h"
#include "abi/spsc_ring.h"
#include "common/event_fd.h"
#include "common/shared_memory.h"

namespace uldd::abi {
namespace {

constexpr int kStallTimeoutMs = 10'000;

// Child exit codes, so the parent can say what went wrong in the driver.
enum ChildExit : int {
  kChildOk = 0,
  kChildBadHeader = 10,
  kChildCorruptIndex = 11,
  kChildWrongDescriptor = 12,
  kChildStalled = 13,
  kChildPollFailed = 14,
};

uint64_t mix(uint64_t x) {  // splitmix64 finaliser: an lba nobody computes by accident
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

BlockDescriptor request(uint32_t seq) {
  BlockDescriptor d{};
  d.tag = seq;
  d.op = static_cast<uint16_t>(seq % 3 == 0 ? BlockOp::kWrite : BlockOp::kRead);
  d.len = 512u * (1 + seq % 256);
  d.iova = uint64_t{seq % 1024} * 4096;
  d.lba = mix(seq);
  return d;
}

uint16_t echo_status(uint32_t seq) {
  return static_cast<uint16_t>(seq % 5);
}

bool same_request(const BlockDescriptor& got, uint32_t seq) {
  BlockDescriptor want = request(seq);
  return got.tag == want.tag && got.op == want.op && got.len == want.len && got.iova == want.iova &&
         got.lba == want.lba && got.flags == 0;
}

// Waits on `fd` (and optionally the child's pidfd) for up to the stall
// timeout. Returns 1 woken, 0 timed out, -1 error, -2 the child exited.
int wait_kick(const EventFd& wake, int pidfd) {
  pollfd p[2] = {{wake.fd(), POLLIN, 0}, {pidfd, POLLIN, 0}};
  int r = ::poll(p, pidfd >= 0 ? 2 : 1, kStallTimeoutMs);
  if (r < 0) return errno == EINTR ? 1 : -1;
  if (r == 0) return 0;
  if (pidfd >= 0 && (p[1].revents & POLLIN) != 0 && (p[0].revents & POLLIN) == 0) return -2;
  wake.drain();
  return 1;
}

// The driver side. Runs in the child; never returns.
[[noreturn]] void run_driver(std::byte* base, size_t size, uint32_t count,
                             const EventFd& driver_wake, const EventFd& shim_wake) {
  RingRegionHeader header;
  std::memcpy(&header, base, sizeof header);  // copy once, then check the copy
  if (!check_ring_region_header(header, size).empty()) _exit(kChildBadHeader);
  RingRegionView v{base, header};
  SpscConsumer<BlockDescriptor> requests(v.request_indices(), v.request_slots(), header.capacity,
                                         0);
  SpscProducer<BlockDescriptor> completions(v.completion_indices(), v.completion_slots(),
                                            header.capacity, 0);
  uint32_t next = 0;
  while (next < count) {
    bool corrupt = false;
    uint32_t ready = requests.available(&corrupt);
    uint32_t space = completions.free_slots(&corrupt);
    if (corrupt) _exit(kChildCorruptIndex);
    uint32_t n = std::min(ready, space);
    if (n == 0) {
      // Sleep on whichever side blocks us; the shim kicks driver_wake for both.
      bool raced = ready == 0 ? requests.prepare_sleep() : completions.prepare_wait_for_space();
      if (raced) continue;
      int w = wait_kick(driver_wake, -1);
      if (ready == 0) {
        requests.finish_sleep();
      } else {
        completions.finish_wait_for_space();
      }
      if (w == 0) _exit(kChildStalled);
      if (w < 0) _exit(kChildPollFailed);
      continue;
    }
    for (uint32_t i = 0; i < n; ++i) {
      BlockDescriptor d = requests.peek(i);
      if (!same_request(d, next + i) || d.status != 0) _exit(kChildWrongDescriptor);
      d.status = echo_status(d.tag);
      completions.stage(i, d);
    }
    next += n;
    bool kick = completions.publish(n);
    kick |= requests.release(n);
    if (kick) shim_wake.signal();
  }
  _exit(kChildOk);
}

struct StressCase {
  uint32_t capacity;
  uint32_t count;
};

void PrintTo(const StressCase& c, std::ostream* os) {
  *os << c.count << " descriptors, capacity " << c.capacity;
}

class SpscRingStressTest : public testing::TestWithParam<StressCase> {};

TEST_P(SpscRingStressTest, TwoProcessesEchoEveryDescriptorInOrder) {
  const auto [capacity, count] = GetParam();
  const RingRegionHeader layout = ring_region_layout(capacity);
  auto region = SharedMemory::create("spsc-stress", layout.region_size);
  ASSERT_TRUE(region.ok()) << region.error().describe();
  std::memcpy(region->data(), &layout, sizeof layout);
  auto driver_wake = EventFd::create();
  auto shim_wake = EventFd::create();
  ASSERT_TRUE(driver_wake.ok() && shim_wake.ok());

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) run_driver(region->data(), region->size(), count, *driver_wake, *shim_wake);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0);

  RingRegionView v{region->data(), layout};
  SpscProducer<BlockDescriptor> requests(v.request_indices(), v.request_slots(), capacity, 0);
  SpscConsumer<BlockDescriptor> completions(v.completion_indices(), v.completion_slots(), capacity,
                                            0);
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<uint32_t> batch_size(1, 64);
  uint32_t sent = 0, received = 0;
  uint64_t sleeps = 0, kicks = 0;
  std::string failure;
  const auto start = std::chrono::steady_clock::now();
  while (received < count && failure.empty()) {
    bool corrupt = false;
    uint32_t space = sent < count ? requests.free_slots(&corrupt) : 0;
    uint32_t n = std::min({batch_size(rng), space, count - sent});
    for (uint32_t i = 0; i < n; ++i) requests.stage(i, request(sent + i));
    sent += n;
    if (n > 0 && requests.publish(n)) {
      driver_wake->signal();
      ++kicks;
    }

    uint32_t ready = completions.available(&corrupt);
    if (corrupt) failure = "corrupt index seen by the shim";
    for (uint32_t i = 0; i < ready && failure.empty(); ++i) {
      BlockDescriptor d = completions.peek(i);
      if (!same_request(d, received + i) || d.status != echo_status(received + i))
        failure = "completion " + std::to_string(received + i) + " came back wrong";
    }
    received += ready;
    if (ready > 0 && completions.release(ready)) {
      driver_wake->signal();
      ++kicks;
    }
    if (n > 0 || ready > 0) continue;

    // Nothing to do: sleep until the driver completes something or frees a
    // request slot, whichever we are waiting for.
    bool want_space = sent < count;
    bool raced = completions.prepare_sleep();
    if (!raced && want_space) raced = requests.prepare_wait_for_space();
    if (raced) {
      completions.finish_sleep();
      continue;
    }
    ++sleeps;
    int w = wait_kick(*shim_wake, pidfd);
    completions.finish_sleep();
    if (want_space) requests.finish_wait_for_space();
    if (w == 0) failure = "no progress for 10 s (lost wakeup?)";
    if (w == -1) failure = "poll failed";
    if (w == -2) failure = "driver process exited early";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!failure.empty()) ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(pidfd);
  EXPECT_EQ(failure, "") << "sent " << sent << ", received " << received;
  ASSERT_TRUE(WIFEXITED(status)) << "driver killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), kChildOk) << "driver failed, see ChildExit";
  EXPECT_EQ(received, count);
  RecordProperty("seconds", std::to_string(seconds));
  std::printf(
      "%u descriptors through capacity %u in %.2f s (%.1f M/s); shim slept %lu times, "
      "kicked the driver %lu times\n",
      count, capacity, seconds, count / seconds / 1e6, static_cast<unsigned long>(sleeps),
      static_cast<unsigned long>(kicks));
}

INSTANTIATE_TEST_SUITE_P(Rings, SpscRingStressTest,
                         testing::Values(StressCase{256, 5'000'000},  // the default ring
                                         StressCase{2, 200'000}),     // always full or empty
                         [](const testing::TestParamInfo<StressCase>& p) {
                           return "Capacity" + std::to_string(p.param.capacity);
                         });

}  // namespace
}  // namespace uldd::abi
