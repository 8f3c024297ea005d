// TestFrame: the raw Ethernet frame the qemu suite bounces between the guest
// (uldd-frame-probe, over AF_PACKET on a TAP or NIC) and the host
// (uldd-frame-echo, on the UDP socket behind QEMU's e1000). A local
// experimental EtherType keeps it away from every protocol stack, so no IP,
// ARP or routing is involved, and each frame carries a sequence number, its
// length and the crc32c of its payload, so the probe can tell lost, corrupt,
// duplicated and foreign frames apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/crc32c.h"

namespace uldd::qemu_test {

// IEEE 802 "Local Experimental EtherType 1".
inline constexpr uint16_t kTestEtherType = 0x88b5;
inline constexpr uint32_t kTestMagic = 0x554c4644;  // "ULFD"
inline constexpr size_t kEthHeaderBytes = 14;
inline constexpr size_t kMinFrameBytes = 60;  // without the FCS, which the NIC adds
inline constexpr size_t kMaxFrameBytes = 1514;

// After the Ethernet header; all fields little-endian, written by the probe.
struct TestFrameHeader {
  uint32_t magic;
  uint32_t length;  // bytes of the whole frame, Ethernet header included
  uint64_t seq;
  uint32_t crc;  // crc32c of the pattern bytes after this header
  uint32_t reserved;
};
static_assert(sizeof(TestFrameHeader) == 24);
static_assert(offsetof(TestFrameHeader, seq) == 8);
static_assert(offsetof(TestFrameHeader, crc) == 16);
inline constexpr size_t kPatternOffset = kEthHeaderBytes + sizeof(TestFrameHeader);

// Pattern bytes are a function of the sequence number, so a changed byte is
// caught even if a checksum were recomputed on the way.
inline uint8_t pattern_byte(uint64_t seq, size_t index) {
  return static_cast<uint8_t>((seq * 131u + index * 7u + (index >> 8)) & 0xff);
}

// Fills frame[kEthHeaderBytes .. length) for `seq`; the caller writes the MACs.
inline void fill_test_frame(uint8_t* frame, size_t length, uint64_t seq) {
  frame[12] = kTestEtherType >> 8;
  frame[13] = kTestEtherType & 0xff;
  for (size_t i = kPatternOffset; i < length; ++i) frame[i] = pattern_byte(seq, i);
  TestFrameHeader header{};
  header.magic = kTestMagic;
  header.length = static_cast<uint32_t>(length);
  header.seq = seq;
  header.crc = crc32c(frame + kPatternOffset, length - kPatternOffset);
  std::memcpy(frame + kEthHeaderBytes, &header, sizeof header);
}

enum class FrameCheck { kOk, kForeign, kCorrupt };

// Checks a received frame (possibly padded by the NIC to 60 bytes). On kOk
// and kCorrupt with a readable header, *seq is the frame's sequence number.
inline FrameCheck check_test_frame(const uint8_t* frame, size_t received, uint64_t* seq) {
  if (received < kPatternOffset) return FrameCheck::kForeign;
  if (((frame[12] << 8) | frame[13]) != kTestEtherType) return FrameCheck::kForeign;
  TestFrameHeader header;
  std::memcpy(&header, frame + kEthHeaderBytes, sizeof header);
  if (header.magic != kTestMagic) return FrameCheck::kCorrupt;
  *seq = header.seq;
  if (header.length < kPatternOffset || header.length > received) return FrameCheck::kCorrupt;
  for (size_t i = kPatternOffset; i < header.length; ++i) {
    if (frame[i] != pattern_byte(header.seq, i)) return FrameCheck::kCorrupt;
  }
  if (crc32c(frame + kPatternOffset, header.length - kPatternOffset) != header.crc) {
    return FrameCheck::kCorrupt;
  }
  return FrameCheck::kOk;
}

}  // namespace uldd::qemu_test
