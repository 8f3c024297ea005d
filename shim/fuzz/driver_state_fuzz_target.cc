// Fuzz target: the rest of what a driver writes that someone trusted reads —
// the checkpoint region (read by the successor driver through
// abi::read_newest_checkpoint before it believes any field) and the status
// text of the control block (read by the supervisor through bounded_string
// before it goes to the log and to D-Bus).
//
// The input fills both checkpoint slots. Random bytes almost never carry a
// valid magic and crc32c, so input bits ask the harness to set the magic,
// version and class and to compute the checksum — the fuzzer then reaches the
// size and epoch rules instead of stopping at the first check.
//
// What must hold: read_newest_checkpoint returns either an error or a size
// within [min, max] whose copied payload is byte-for-byte the payload of a
// slot that validates, with the highest epoch, and no newer damaged slot;
// bounded_string returns only printable ASCII and never reads past n bytes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "abi/checkpoint_reader.h"
#include "common/crc32c.h"
#include "shim/fuzz/byte_reader.h"
#include "supervisor/restart_engine_detail.h"

namespace {

[[noreturn]] void invariant_broken(const char* what) {
  std::fprintf(stderr, "driver_state_fuzz: invariant broken: %s\n", what);
  std::abort();
}

bool slot_validates(const uldd::abi::CheckpointSlot& s, uint32_t cls, uint32_t min, uint32_t max) {
  return s.epoch != 0 && s.magic == uldd::abi::kCheckpointMagic &&
         s.version == uldd::abi::kAbiVersion && s.device_class == cls && s.payload_size >= min &&
         s.payload_size <= max && s.payload_size <= uldd::abi::kCheckpointPayloadMax &&
         uldd::crc32c(s.payload, s.payload_size) == s.checksum;
}

void fuzz_checkpoint(uldd::fuzz::ByteReader& in) {
  auto region = std::make_unique<uldd::abi::CheckpointRegion>();
  std::memset(region.get(), 0, sizeof *region);
  const uint32_t cls = 1 + in.u8() % 2;
  const uint32_t min = in.u16() % 512;
  const uint32_t max = min + in.u16() % 1024;
  for (auto& slot : region->slots) {
    uint8_t fix = in.u8();
    slot.magic = in.u32();
    slot.version = in.u32();
    slot.epoch = in.u8();  // small epochs: ties and orders are what matter
    slot.payload_size = in.u16() % (max + 64);
    slot.device_class = in.u8() % 3;
    in.bytes(slot.payload, std::min<size_t>(slot.payload_size, 256));
    if (fix & 1) slot.magic = uldd::abi::kCheckpointMagic;
    if (fix & 2) slot.version = uldd::abi::kAbiVersion;
    if (fix & 4) slot.device_class = cls;
    slot.checksum =
        (fix & 8) ? uldd::crc32c(slot.payload, std::min<uint32_t>(slot.payload_size,
                                                                  uldd::abi::kCheckpointPayloadMax))
                  : in.u32();
  }
  std::vector<uint8_t> out(max + 1, 0xa5);
  auto size = uldd::abi::read_newest_checkpoint(*region, cls, min, max, out.data());
  // The rule of abi/checkpoint.h, restated plainly: the newest validating
  // slot wins (the first on a tie), unless a newer written slot is damaged.
  int best = -1;
  uint64_t best_epoch = 0, newest_damaged = 0;
  for (int i = 0; i < 2; ++i) {
    const auto& s = region->slots[i];
    if (s.epoch == 0) continue;
    if (!slot_validates(s, cls, min, max)) {
      newest_damaged = std::max<uint64_t>(newest_damaged, s.epoch);
    } else if (s.epoch > best_epoch) {
      best = i;
      best_epoch = s.epoch;
    }
  }
  const bool should_accept = best >= 0 && newest_damaged <= best_epoch;
  if (size.ok() != should_accept)
    invariant_broken(should_accept ? "a valid newest slot was refused"
                                   : "a checkpoint was accepted against the rule");
  if (!size) return;
  const auto& winner = region->slots[best];
  if (*size < min || *size > max) invariant_broken("size outside [min, max]");
  if (*size != winner.payload_size || std::memcmp(out.data(), winner.payload, *size) != 0)
    invariant_broken("payload copied is not the winning slot's");
}

void fuzz_status_text(uldd::fuzz::ByteReader& in) {
  char text[64];
  in.bytes(text, sizeof text);
  auto shown = uldd::supervisor::restart_engine_detail::bounded_string(text, sizeof text);
  for (char c : shown)
    if (c < 0x20 || c >= 0x7f) invariant_broken("bounded_string let a non-printable byte through");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uldd::fuzz::ByteReader in(data, size);
  fuzz_status_text(in);
  fuzz_checkpoint(in);
  return 0;
}
