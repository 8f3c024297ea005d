// What restart_engine.cc (detection, policy, settling) and
// restart_engine_launch.cc (starting a successor) share: the timing constants
// of a restart and two formatting helpers. Internal to the engine.
#pragma once

#include <chrono>
#include <cstring>
#include <string>

namespace uldd::supervisor::restart_engine_detail {

// Exit status of a driver that refused a warm resume (drivers/*/..._main.cc).
inline constexpr int kExitWarmRefused = 6;
// A starting successor is looked at after 20 us, then at doubling pauses up to
// 500 us: most serve within a millisecond, and the loop must not spin.
inline constexpr auto kFirstPollPause = std::chrono::microseconds(20);
inline constexpr auto kMaxPollPause = std::chrono::microseconds(500);
// The next hot standby starts this long after a promotion, off the recovery path.
inline constexpr auto kStandbyRespawnDelay = std::chrono::milliseconds(20);

inline double ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// A fixed-size, possibly unterminated char field of shared memory (written by
// the untrusted driver) as a string safe to log, show on a terminal and send
// as a D-Bus string (which must be valid UTF-8): printable ASCII is kept,
// every other byte becomes \xNN.
inline std::string bounded_string(const char* s, size_t n) {
  std::string out;
  for (size_t i = 0; i < strnlen(s, n); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace uldd::supervisor::restart_engine_detail
