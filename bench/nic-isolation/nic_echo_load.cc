// uldd-bench-nic-echo-load: the open-loop UDP echo load of bench/nic-isolation.
//
// Why not `uldd-udp-echo client`: that client sends and receives on one
// thread and prefers sending while it is behind its schedule, so beyond about
// 60k datagrams/s on the 2-vCPU development VM its own socket receive buffer
// overflows (UdpRcvbufErrors in the client's netns, every echo delivered by
// the server) and the curve collapses because of the load generator, not the
// stack under test. Here a sender thread paces numbered datagrams at the
// offered rate for a fixed duration, and a receiver thread does nothing but
// drain the socket (SO_RCVBUFFORCE: 32 MiB, past net.core.rmem_max, so the
// generator is not where packets are lost). ipbench, the paper's tool, also
// separates the two.
//
//   uldd-bench-nic-echo-load --to ADDR [--port 7007] [--size 1024] --rate PPS
//                            [--seconds S] [--drain-ms 300] [--json FILE]
//
// Achieved echo throughput = intact, first-time echoes x payload bits / S
// (or / the time sending really took, if the sender fell behind).
// Every echo is checked: magic, a sequence number that was sent and not seen
// yet, and the payload bytes (a per-sequence pattern), so a corrupted,
// duplicated or foreign datagram is counted apart and never as throughput.
// Exit status 0 unless the socket could not be set up; loss is a figure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kMagic = 0x554C4E42;  // "ULNB"
constexpr size_t kHeader = 12;           // magic u32, seq u64

// Payload byte i of datagram seq: cheap to generate and to check, and a byte
// moved or changed on the way does not match.
inline uint8_t pattern(uint64_t seq, size_t i) {
  return static_cast<uint8_t>((seq * 131 + i * 7) ^ (i >> 8));
}

struct Options {
  std::string to;
  uint16_t port = 7007;
  uint32_t size = 1024;
  uint64_t rate = 1000;
  double seconds = 2.0;
  uint32_t drain_ms = 300;
  std::string json;
};

struct Counters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_failed{0};                          // ENOBUFS/EAGAIN: the host refused
  uint64_t echoed = 0, corrupt = 0, duplicate = 0, foreign = 0;  // receiver thread only
};

void send_loop(int s, const Options& o, Counters& c, Clock::time_point start) {
  std::vector<uint8_t> out(o.size);
  const uint64_t total = static_cast<uint64_t>(o.rate * o.seconds);
  const uint64_t period_ns = 1'000'000'000ull / o.rate;
  for (uint64_t seq = 0; seq < total; ++seq) {
    auto due = start + std::chrono::nanoseconds(seq * period_ns);
    // Sleep only when ahead by more than ~50 us: finer sleeps cost more than
    // they pace, and a short burst is what a NIC sees from any real sender.
    if (auto ahead = due - Clock::now(); ahead > std::chrono::microseconds(50))
      std::this_thread::sleep_for(ahead);
    std::memcpy(&out[0], &kMagic, 4);
    std::memcpy(&out[4], &seq, 8);
    for (size_t i = kHeader; i < out.size(); ++i) out[i] = pattern(seq, i);
    // Counted before it leaves: the echo may be back before send() returns.
    c.sent.store(seq + 1, std::memory_order_release);
    if (::send(s, out.data(), out.size(), 0) < 0) {
      c.send_failed.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void receive_loop(int s, const Options& o, Counters& c, const std::atomic<bool>& stop) {
  const uint64_t total = static_cast<uint64_t>(o.rate * o.seconds);
  std::vector<bool> seen(total, false);
  std::vector<uint8_t> in(65536);
  while (!stop.load(std::memory_order_acquire)) {
    ssize_t n = ::recv(s, in.data(), in.size(), 0);  // SO_RCVTIMEO bounds the wait
    if (n < 0) continue;
    uint32_t magic = 0;
    uint64_t seq = 0;
    if (n >= static_cast<ssize_t>(kHeader)) {
      std::memcpy(&magic, &in[0], 4);
      std::memcpy(&seq, &in[4], 8);
    }
    if (magic != kMagic || seq >= c.sent.load(std::memory_order_acquire)) {
      ++c.foreign;
      continue;
    }
    if (seen[seq]) {
      ++c.duplicate;
      continue;
    }
    seen[seq] = true;
    bool intact = static_cast<size_t>(n) == o.size;
    for (size_t i = kHeader; intact && i < o.size; ++i) intact = in[i] == pattern(seq, i);
    intact ? ++c.echoed : ++c.corrupt;
  }
}

int run(const Options& o) {
  if (o.size < kHeader || o.size > 65000 || o.rate == 0 || o.seconds <= 0) {
    std::cerr
        << "uldd-bench-nic-echo-load: need 12 <= --size <= 65000, --rate > 0, --seconds > 0\n";
    return 2;
  }
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    std::perror("socket");
    return 1;
  }
  int big = 32 << 20;
  // FORCE (root) goes past net.core.rmem_max/wmem_max without changing them
  // for everyone else on the host; fall back to the capped request.
  if (::setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
    ::setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (::setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0)
    ::setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  timeval tv{0, 20000};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(o.port);
  if (::inet_pton(AF_INET, o.to.c_str(), &a.sin_addr) != 1 ||
      ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::cerr << "uldd-bench-nic-echo-load: cannot connect to " << o.to << "\n";
    return 1;
  }
  Counters c;
  std::atomic<bool> stop{false};
  auto start = Clock::now();
  std::thread receiver([&] { receive_loop(s, o, c, stop); });
  send_loop(s, o, c, start);
  double send_secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(o.drain_ms));
  stop.store(true, std::memory_order_release);
  receiver.join();
  ::close(s);

  const uint64_t sent = c.sent.load();
  // A sender that could not keep the schedule offered less than asked, over
  // longer: the figure is over the time it really took.
  const double secs = std::max(o.seconds, send_secs);
  const double mbps = c.echoed * double(o.size) * 8 / secs / 1e6;
  nlohmann::json j = {{"to", o.to},
                      {"size", o.size},
                      {"offered_pps", o.rate},
                      {"seconds", secs},
                      {"send_seconds", send_secs},
                      {"sent_pps", sent / send_secs},
                      {"sent", sent},
                      {"send_failed", c.send_failed.load()},
                      {"echoed", c.echoed},
                      {"lost", sent - c.echoed - c.corrupt},
                      {"corrupt", c.corrupt},
                      {"duplicate", c.duplicate},
                      {"foreign", c.foreign},
                      {"echo_mbps", mbps}};
  std::cout << "nic-echo-load: sent " << sent << " (" << c.send_failed.load() << " refused) echoed "
            << c.echoed << " corrupt " << c.corrupt << " duplicate " << c.duplicate << " foreign "
            << c.foreign << " in " << secs << " s (sending took " << send_secs << " s): " << mbps
            << " Mb/s echoed\n";
  if (!o.json.empty()) std::ofstream(o.json) << j.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-bench-nic-echo-load: open-loop UDP echo load, sender and receiver threads"};
  Options o;
  app.add_option("--to", o.to, "echo server address")->required();
  app.add_option("--port", o.port)->capture_default_str();
  app.add_option("--size", o.size, "UDP payload bytes")->capture_default_str();
  app.add_option("--rate", o.rate, "offered datagrams per second")->required();
  app.add_option("--seconds", o.seconds, "how long to offer the load")->capture_default_str();
  app.add_option("--drain-ms", o.drain_ms, "wait for late echoes after the last send")
      ->capture_default_str();
  app.add_option("--json", o.json, "also write the figures as JSON here");
  CLI11_PARSE(app, argc, argv);
  return run(o);
}
