// uldd-frame-probe: the guest end of the qemu suite's e1000 tests. Sends N
// test frames (test_frame.h: EtherType 0x88b5, sequence number, crc32c of a
// pattern) out of a network interface over AF_PACKET — uldd's TAP frontend
// uldd0, or the kernel's own e1000 interface as a reference — keeps at most W
// in flight, and checks each frame uldd-frame-echo sends back. A frame not
// back within --timeout-ms is lost (which frees its window slot, so traffic
// goes on through a driver restart and the longest silence is measured).
//
//   uldd-frame-probe --ifname IF [--count 1000] [--size 0 (= mixed 60..1514)]
//                    [--window 16] [--timeout-ms 2000] [--max-lost 0]
//                    [--max-seconds 120] [--peer-mac 02:00:00:00:00:01]
//
// Prints one line
//   frame-probe sent=<n> echoed=<n> lost=<n> corrupt=<n> duplicate=<n> late=<n>
//               foreign=<n> max_gap_ms=<n> elapsed_ms=<n>
// and exits 0 only if every frame was sent, none came back corrupt and at
// most --max-lost were lost (late = came back after being declared lost).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "tests/qemu/test_frame.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace qt = uldd::qemu_test;

enum class Slot : uint8_t { kUnsent, kInFlight, kEchoed, kLost };

bool parse_mac(const std::string& text, uint8_t mac[6]) {
  unsigned b[6];
  char tail = 0;
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                  &tail) != 6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  return true;
}

size_t frame_size(size_t size, uint64_t seq) {
  if (size != 0) return size;
  return qt::kMinFrameBytes + (seq * 149) % (qt::kMaxFrameBytes - qt::kMinFrameBytes + 1);
}

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uldd-frame-probe: send verified test frames and count their echoes"};
  std::string ifname, peer_mac_text = "02:00:00:00:00:01";
  uint64_t count = 1000, max_lost = 0;
  size_t size = 0, window = 16;
  int timeout_ms = 2000, max_seconds = 120;
  app.add_option("--ifname", ifname, "network interface")->required();
  app.add_option("--count", count, "frames to send");
  app.add_option("--size", size, "frame bytes without FCS, 60..1514 (0 = mixed)");
  app.add_option("--window", window, "frames in flight at most");
  app.add_option("--timeout-ms", timeout_ms, "a frame not echoed within this is lost");
  app.add_option("--max-lost", max_lost, "lost frames tolerated");
  app.add_option("--max-seconds", max_seconds, "give up after this long");
  app.add_option("--peer-mac", peer_mac_text, "destination MAC of the frames sent");
  CLI11_PARSE(app, argc, argv);
  if (size != 0 && (size < qt::kMinFrameBytes || size > qt::kMaxFrameBytes)) {
    std::fprintf(stderr, "uldd-frame-probe: --size must be 0 or 60..1514\n");
    return 1;
  }
  uint8_t peer_mac[6];
  if (!parse_mac(peer_mac_text, peer_mac) || window == 0) {
    std::fprintf(stderr, "uldd-frame-probe: bad --peer-mac or --window\n");
    return 1;
  }

  uldd::UniqueFd sock(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(qt::kTestEtherType)));
  if (!sock.valid()) {
    std::perror("uldd-frame-probe: socket(AF_PACKET)");
    return 1;
  }
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  if (::ioctl(sock.get(), SIOCGIFINDEX, &ifr) != 0) {
    std::perror(("uldd-frame-probe: interface " + ifname).c_str());
    return 1;
  }
  const int ifindex = ifr.ifr_ifindex;
  if (::ioctl(sock.get(), SIOCGIFHWADDR, &ifr) != 0) {
    std::perror("uldd-frame-probe: SIOCGIFHWADDR");
    return 1;
  }
  uint8_t own_mac[6];
  std::memcpy(own_mac, ifr.ifr_hwaddr.sa_data, 6);
  sockaddr_ll bind_addr{};
  bind_addr.sll_family = AF_PACKET;
  bind_addr.sll_protocol = htons(qt::kTestEtherType);
  bind_addr.sll_ifindex = ifindex;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
    std::perror("uldd-frame-probe: bind");
    return 1;
  }

  std::vector<Slot> slots(count, Slot::kUnsent);
  std::vector<Clock::time_point> sent_at(count);
  uint64_t next = 0, oldest = 0, in_flight = 0;
  uint64_t echoed = 0, lost = 0, corrupt = 0, duplicate = 0, late = 0, foreign = 0;
  int64_t max_gap_ms = 0;
  const auto start = Clock::now();
  Clock::time_point last_echo{};
  uint8_t frame[qt::kMaxFrameBytes];
  uint8_t rx[65536];
  while ((next < count || in_flight > 0) && ms_since(start) < max_seconds * 1000LL) {
    while (next < count && in_flight < window) {
      const size_t length = frame_size(size, next);
      std::memcpy(frame, peer_mac, 6);
      std::memcpy(frame + 6, own_mac, 6);
      qt::fill_test_frame(frame, length, next);
      if (::send(sock.get(), frame, length, MSG_DONTWAIT) != static_cast<ssize_t>(length)) break;
      slots[next] = Slot::kInFlight;
      sent_at[next] = Clock::now();
      ++next;
      ++in_flight;
    }
    pollfd pfd{sock.get(), POLLIN, 0};
    ::poll(&pfd, 1, 10);
    for (;;) {
      sockaddr_ll from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(sock.get(), rx, sizeof rx, MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;
      if (from.sll_pkttype == PACKET_OUTGOING) continue;  // our own frames, seen on the way out
      uint64_t seq = 0;
      const qt::FrameCheck check = qt::check_test_frame(rx, static_cast<size_t>(n), &seq);
      if (check == qt::FrameCheck::kForeign) {
        ++foreign;
      } else if (check == qt::FrameCheck::kCorrupt || seq >= next) {
        ++corrupt;
      } else if (slots[seq] == Slot::kInFlight) {
        slots[seq] = Slot::kEchoed;
        --in_flight;
        ++echoed;
        if (last_echo != Clock::time_point{}) {
          max_gap_ms = std::max(max_gap_ms, ms_since(last_echo));
        }
        last_echo = Clock::now();
      } else if (slots[seq] == Slot::kLost) {
        ++late;
      } else {
        ++duplicate;
      }
    }
    const auto now = Clock::now();
    while (oldest < next && (slots[oldest] != Slot::kInFlight ||
                             now - sent_at[oldest] > std::chrono::milliseconds(timeout_ms))) {
      if (slots[oldest] == Slot::kInFlight) {
        slots[oldest] = Slot::kLost;
        --in_flight;
        ++lost;
      }
      ++oldest;
    }
  }
  lost += in_flight;  // still in flight at --max-seconds
  std::printf(
      "frame-probe sent=%llu echoed=%llu lost=%llu corrupt=%llu duplicate=%llu late=%llu "
      "foreign=%llu max_gap_ms=%lld elapsed_ms=%lld\n",
      static_cast<unsigned long long>(next), static_cast<unsigned long long>(echoed),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(corrupt),
      static_cast<unsigned long long>(duplicate), static_cast<unsigned long long>(late),
      static_cast<unsigned long long>(foreign), static_cast<long long>(max_gap_ms),
      static_cast<long long>(ms_since(start)));
  return next == count && corrupt == 0 && lost <= max_lost ? 0 : 1;
}
