// uldd-frame-echo: the host end of the qemu suite's e1000 tests. QEMU's socket
// netdev (-netdev socket,udp=127.0.0.1:P,localaddr=127.0.0.1:Q) sends each
// Ethernet frame the guest's e1000 transmits as one UDP datagram to port P;
// this program, bound to P on loopback, sends every test frame (EtherType
// 0x88b5, test_frame.h) back to where it came from with source and
// destination MAC swapped, which QEMU hands to the e1000 as a received frame.
// Other frames (IPv6 neighbour discovery and the like) are counted and dropped.
//
//   uldd-frame-echo [--port P (0 = any free port)] [--port-file FILE]
//                   [--max-seconds S (exits by itself, default 900)]
//
// Writes the bound port to FILE (atomically) once it listens; on SIGTERM or
// SIGINT, or after S seconds, prints
//   frame-echo echoed=<n> foreign=<n> bytes=<n>
// and exits 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/unique_fd.h"
#include "tests/qemu/test_frame.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-frame-echo: echo test Ethernet frames from QEMU's UDP socket netdev"};
  int port = 0;
  std::string port_file;
  int max_seconds = 900;
  app.add_option("--port", port, "UDP port on 127.0.0.1 (0 = any free port)");
  app.add_option("--port-file", port_file, "write the bound port here once listening");
  app.add_option("--max-seconds", max_seconds, "exit by itself after this long");
  CLI11_PARSE(app, argc, argv);

  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  uldd::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) {
    std::perror("uldd-frame-echo: socket");
    return 1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("uldd-frame-echo: bind 127.0.0.1");
    return 1;
  }
  socklen_t addr_len = sizeof addr;
  ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &addr_len);
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << ntohs(addr.sin_port) << "\n";
    if (std::rename(tmp.c_str(), port_file.c_str()) != 0) {
      std::perror("uldd-frame-echo: rename port file");
      return 1;
    }
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  uint64_t echoed = 0, foreign = 0, bytes = 0;
  uint8_t frame[65536];
  while (!g_stop && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{sock.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(sock.get(), frame, sizeof frame, 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) continue;
    const auto length = static_cast<size_t>(n);
    if (length < uldd::qemu_test::kEthHeaderBytes ||
        ((frame[12] << 8) | frame[13]) != uldd::qemu_test::kTestEtherType) {
      ++foreign;
      continue;
    }
    uint8_t mac[6];
    std::memcpy(mac, frame, 6);
    std::memcpy(frame, frame + 6, 6);
    std::memcpy(frame + 6, mac, 6);
    if (::sendto(sock.get(), frame, length, 0, reinterpret_cast<sockaddr*>(&from), from_len) == n) {
      ++echoed;
      bytes += length;
    }
  }
  std::printf("frame-echo echoed=%llu foreign=%llu bytes=%llu\n",
              static_cast<unsigned long long>(echoed), static_cast<unsigned long long>(foreign),
              static_cast<unsigned long long>(bytes));
  return 0;
}
