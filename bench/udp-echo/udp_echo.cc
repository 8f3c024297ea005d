// uldd-udp-echo: our own UDP echo load generator and echo server, for the NIC
// rig (e2e-nic tests, bench/nic-isolation). Every datagram carries a sequence
// number and the crc32c of its payload, so the client can tell lost, corrupt,
// duplicated and foreign echoes apart instead of trusting a byte count.
//
//   uldd-udp-echo server --bind ADDR [--port 7007]
//   uldd-udp-echo client --to ADDR [--port 7007] [--count N] [--size BYTES]
//                        [--rate PPS (0 = as fast as the window allows)] [--window W]
//                        [--timeout-ms T] [--json FILE]
//   uldd-udp-echo flood  --to ADDR [--port 7007] [--size BYTES] [--duration-ms D]
//
// client exits 0 only if every datagram came back intact; it prints one text
// line and (with --json) writes the same figures as JSON. flood sends without
// waiting for anything (a load, not a measurement) and prints what it sent.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/crc32c.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kMagic = 0x55454348;  // "UECH"
constexpr size_t kHeader = 16;           // magic u32, crc u32, seq u64

// Payload bytes after the header: a function of the sequence number, so a
// byte that changed on the way is caught even if the checksum were recomputed.
void fill(std::vector<uint8_t>& buf, uint64_t seq) {
  uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = kHeader; i < buf.size(); ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = static_cast<uint8_t>(x);
  }
  uint32_t crc = uldd::crc32c(buf.data() + kHeader, buf.size() - kHeader);
  std::memcpy(&buf[0], &kMagic, 4);
  std::memcpy(&buf[4], &crc, 4);
  std::memcpy(&buf[8], &seq, 8);
}

int udp_socket() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    std::perror("socket");
    std::exit(1);
  }
  int big = 4 << 20;
  ::setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  ::setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  return s;
}

sockaddr_in address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
    std::cerr << "uldd-udp-echo: bad address " << ip << "\n";
    std::exit(2);
  }
  return a;
}

int serve(const std::string& bind_ip, uint16_t port) {
  int s = udp_socket();
  sockaddr_in a = address(bind_ip, port);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("bind");
    return 1;
  }
  std::vector<uint8_t> buf(65536);
  for (;;) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(s, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    ::sendto(s, buf.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

struct ClientOptions {
  std::string to;
  uint16_t port = 7007;
  uint64_t count = 10000;
  uint32_t size = 1024;
  uint64_t rate = 0;
  uint32_t window = 64;
  uint32_t timeout_ms = 2000;
  std::string json;
};

int client(const ClientOptions& o) {
  if (o.size < kHeader || o.size > 65000) {
    std::cerr << "uldd-udp-echo: --size must be in " << kHeader << "..65000\n";
    return 2;
  }
  int s = udp_socket();
  sockaddr_in a = address(o.to, o.port);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    return 1;
  }
  std::vector<uint8_t> out(o.size), in(65536), expect(o.size);
  std::vector<bool> seen(o.count, false);
  uint64_t sent = 0, echoed = 0, corrupt = 0, duplicate = 0, foreign = 0;
  auto start = Clock::now();
  auto last_progress = start;
  while (echoed + corrupt < o.count) {
    // Send while the window and the offered rate allow.
    while (sent < o.count && sent - echoed - corrupt < o.window) {
      if (o.rate > 0) {
        auto due = start + std::chrono::nanoseconds(sent * 1'000'000'000ull / o.rate);
        if (Clock::now() < due) break;
      }
      fill(out, sent);
      if (::send(s, out.data(), out.size(), MSG_DONTWAIT) < 0) break;  // socket full: receive first
      ++sent;
    }
    pollfd p{s, POLLIN, 0};
    int wait_ms = (o.rate > 0 && sent < o.count) ? 1 : 50;
    if (::poll(&p, 1, wait_ms) > 0) {
      ssize_t n;
      while ((n = ::recv(s, in.data(), in.size(), MSG_DONTWAIT)) >= 0) {
        last_progress = Clock::now();
        uint32_t magic = 0, crc = 0;
        uint64_t seq = 0;
        if (n >= static_cast<ssize_t>(kHeader)) {
          std::memcpy(&magic, &in[0], 4);
          std::memcpy(&crc, &in[4], 4);
          std::memcpy(&seq, &in[8], 8);
        }
        if (magic != kMagic || seq >= sent) {
          ++foreign;
          continue;
        }
        if (seen[seq]) {
          ++duplicate;
          continue;
        }
        fill(expect, seq);
        bool intact = static_cast<size_t>(n) == expect.size() &&
                      uldd::crc32c(in.data() + kHeader, static_cast<size_t>(n) - kHeader) == crc &&
                      std::memcmp(in.data(), expect.data(), expect.size()) == 0;
        seen[seq] = true;
        intact ? ++echoed : ++corrupt;
      }
    }
    if (Clock::now() - last_progress > std::chrono::milliseconds(o.timeout_ms))
      break;  // the rest is lost
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t lost = sent - echoed - corrupt;
  double mbps = secs > 0 ? echoed * double(o.size) * 8 / secs / 1e6 : 0;
  nlohmann::json j = {{"to", o.to},
                      {"size", o.size},
                      {"count", o.count},
                      {"offered_pps", o.rate},
                      {"sent", sent},
                      {"echoed", echoed},
                      {"lost", lost},
                      {"corrupt", corrupt},
                      {"duplicate", duplicate},
                      {"foreign", foreign},
                      {"seconds", secs},
                      {"echo_mbps", mbps},
                      {"echo_pps", secs > 0 ? echoed / secs : 0}};
  std::cout << "udp-echo: sent " << sent << " echoed " << echoed << " lost " << lost << " corrupt "
            << corrupt << " duplicate " << duplicate << " foreign " << foreign << " in " << secs
            << " s, " << mbps << " Mb/s echoed\n";
  if (!o.json.empty()) std::ofstream(o.json) << j.dump(2) << "\n";
  return (echoed == o.count && corrupt == 0 && duplicate == 0) ? 0 : 1;
}

int flood(const std::string& to, uint16_t port, uint32_t size, uint32_t duration_ms) {
  int s = udp_socket();
  sockaddr_in a = address(to, port);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    return 1;
  }
  std::vector<uint8_t> out(std::max<uint32_t>(size, kHeader));
  uint64_t sent = 0, refused = 0;
  auto end = Clock::now() + std::chrono::milliseconds(duration_ms);
  while (Clock::now() < end) {
    for (int i = 0; i < 256; ++i) {
      std::memcpy(&out[8], &sent, 8);
      if (::send(s, out.data(), size, MSG_DONTWAIT) < 0) {
        ++refused;  // ENOBUFS/EAGAIN/ECONNREFUSED: the point of a flood
      } else {
        ++sent;
      }
    }
  }
  std::cout << "flood: sent " << sent << " datagrams of " << size << " B in " << duration_ms
            << " ms (" << sent * 1000 / std::max<uint32_t>(duration_ms, 1) << "/s), refused "
            << refused << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-udp-echo: UDP echo server, verifying load generator and flooder"};
  app.require_subcommand(1);
  std::string bind_ip = "0.0.0.0";
  uint16_t port = 7007;
  auto* srv = app.add_subcommand("server", "echo every datagram back to its sender");
  srv->add_option("--bind", bind_ip, "address to bind")->capture_default_str();
  srv->add_option("--port", port)->capture_default_str();

  ClientOptions co;
  auto* cli =
      app.add_subcommand("client", "send numbered, checksummed datagrams and verify the echoes");
  cli->add_option("--to", co.to, "echo server address")->required();
  cli->add_option("--port", co.port)->capture_default_str();
  cli->add_option("--count", co.count)->capture_default_str();
  cli->add_option("--size", co.size, "UDP payload bytes")->capture_default_str();
  cli->add_option("--rate", co.rate, "offered datagrams per second; 0 = window-limited")
      ->capture_default_str();
  cli->add_option("--window", co.window, "datagrams outstanding at most")->capture_default_str();
  cli->add_option("--timeout-ms", co.timeout_ms, "give up after this long without an echo")
      ->capture_default_str();
  cli->add_option("--json", co.json, "also write the figures as JSON here");

  std::string flood_to;
  uint32_t flood_size = 18, duration_ms = 3000;
  auto* fl = app.add_subcommand("flood", "send as fast as possible, expecting nothing back");
  fl->add_option("--to", flood_to)->required();
  fl->add_option("--port", port)->capture_default_str();
  fl->add_option("--size", flood_size, "UDP payload bytes (18 = a 60-byte frame)")
      ->capture_default_str();
  fl->add_option("--duration-ms", duration_ms)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (*srv) return serve(bind_ip, port);
  if (*cli) return client(co);
  return flood(flood_to, port, flood_size, duration_ms);
}
