// EchoPeer: see echo_peer.h.
#include "faultinject/campaign/echo_peer.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include "common/crc32c.h"
#include "faultinject/campaign/echo_tracker.h"

namespace uldd::campaign {

Result<EchoPeerFault> parse_echo_peer_fault(std::string_view text) {
  EchoPeerFault f;
  if (text.empty()) return f;
  auto eq = text.find('=');
  std::string_view key = text.substr(0, eq), value;
  if (eq != std::string_view::npos) value = text.substr(eq + 1);
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (eq == std::string_view::npos || ec != std::errc() || end != value.data() + value.size() ||
      n == 0 || (key != "drop-every" && key != "corrupt-every"))
    return plain_error("echo peer fault '" + std::string(text) +
                       "' is not drop-every=N or corrupt-every=N (N >= 1)");
  (key == "drop-every" ? f.drop_every : f.corrupt_every) = n;
  return f;
}

EchoPeer::EchoPeer(UniqueFd socket, EchoPeerFault fault)
    : socket_(std::move(socket)), fault_(fault) {}

void EchoPeer::start() {
  thread_ = std::thread([this] { run(); });
}

void EchoPeer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void EchoPeer::note_received(const uint8_t* d, size_t n) {
  if (n < kEchoHeader) return;
  uint32_t magic;
  uint64_t seq, stream;
  std::memcpy(&magic, d, sizeof magic);
  std::memcpy(&seq, d + 8, sizeof seq);
  std::memcpy(&stream, d + 24, sizeof stream);
  if (magic != kEchoMagic || seq == 0 || seq > kMaxSeqTracked) return;
  uint32_t crc;  // a damaged datagram must not mark another sequence number as seen
  std::memcpy(&crc, d + 4, sizeof crc);
  if (crc32c(d + 8, n - 8) != crc) return;
  std::lock_guard lock(seen_mutex_);
  if (stream != stream_) {  // a new sender (the workload after its probe): start over
    stream_ = stream;
    seen_.clear();
  }
  if (seen_.size() <= seq) seen_.resize(std::max<size_t>(seq + 1, seen_.size() * 2), 0);
  if (seen_[seq] < 2) ++seen_[seq];
}

bool EchoPeer::received_twice(uint64_t seq) const {
  std::lock_guard lock(seen_mutex_);
  return seq < seen_.size() && seen_[seq] >= 2;
}

void EchoPeer::run() {
  uint8_t buf[2048];
  uint64_t received = 0, echoed = 0;
  while (!stopping_.load(std::memory_order_relaxed)) {
    pollfd p{socket_.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(socket_.get(), buf, sizeof buf, MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) break;
      ++received;
      note_received(buf, static_cast<size_t>(n));
      if (fault_.drop_every != 0 && received % fault_.drop_every == 0) continue;
      if (fault_.corrupt_every != 0 && received % fault_.corrupt_every == 0 && n > 40)
        buf[n - 1] ^= 0x5a;  // a payload byte, the checksum left as it was
      if (::sendto(socket_.get(), buf, static_cast<size_t>(n), 0,
                   reinterpret_cast<sockaddr*>(&from), len) == n)
        echoed_.store(++echoed, std::memory_order_relaxed);
    }
  }
}

}  // namespace uldd::campaign
