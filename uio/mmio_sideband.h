// MmioSideband: the register side effects a memfd BAR cannot show by itself.
//
// A device model that shares its BAR as plain memory sees neither reads nor the
// individual writes, only the last value stored. That is enough for NVMe
// (doorbells and CC are "last value wins"), not for an e1000: ICR is read to
// clear, IMS/IMC set and clear mask bits, ICS raises causes, CTRL.RST resets,
// the statistics clear on read, and two writes of the same doorbell between
// two wake-ups must both count. So a model that needs those semantics publishes
// a side-band area in the last kSidebandBytes of its BAR memfd, and emulated
// UIO (uio/emulated_uio.h) then behaves like a PCI function:
//   - every register write becomes an entry {offset, value} of an SPSC write
//     log, in program order, instead of a store to the BAR: the model replays
//     the posted-write stream and stores whatever the register reads back as;
//   - a register read first waits until the model has applied every logged
//     write ("a read flushes posted writes", PCI ordering), so a driver that
//     writes EERD or CTRL.RST and then reads the register sees the effect;
//   - a read of an offset in one of the published read-to-clear ranges is an
//     atomic exchange with 0; the model sets bits with fetch_or and adds to
//     counters with fetch_add on the BAR word, so no cause or count is lost
//     between the driver's read and the model's update.
// A BAR memfd without the side band (the NVMe model) keeps the plain
// store-and-kick behaviour unchanged.
//
// Placement: the side band lives inside the BAR memfd (the supervisor seals its
// size) at bar_memfd_size - kSidebandBytes. For the e1000 (128 KiB BAR) that is
// 0x1E000..0x1FFFF, inside the packet buffer memory window (SDM Table 13-2,
// PBM 0x10000..0x1FFFC, diagnostic access only), which no driver uses and
// uldd's model does not emulate. Only BAR memfds of at least
// kMinBarWithSideband bytes are looked at, so small BARs are never mistaken
// for one.
//
// Trust: the model writes the header and log_head, the driver writes log_tail
// and the entries. The model treats all of it as untrusted (indices more than
// a ring apart, offsets outside the registers); the driver trusts the header,
// which the model publishes before it reports power-on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

namespace uldd::uio {

inline constexpr size_t kSidebandBytes = 8192;
inline constexpr size_t kMinBarWithSideband = 4 * kSidebandBytes;
inline constexpr uint64_t kSidebandMagic = 0x4F494D4D44444C55ull;  // "ULDDMMIO" little endian
inline constexpr uint32_t kSidebandVersion = 1;
inline constexpr uint32_t kWriteLogCapacity = 512;  // entries, power of two
inline constexpr uint32_t kMaxReadToClearRanges = 8;

// One posted register write, as the driver issued it.
struct MmioWrite {
  uint32_t offset;  // driver: BAR offset, 4-byte aligned (the model checks)
  uint32_t value;   // driver
};
static_assert(sizeof(MmioWrite) == 8);

// Inclusive range of BAR offsets whose reads clear them (both 4-byte aligned).
struct ReadToClearRange {
  uint32_t first;  // model
  uint32_t last;   // model
};
static_assert(sizeof(ReadToClearRange) == 8);

struct SidebandLayout {
  uint64_t magic;                // model: kSidebandMagic, stored last (release) when published
  uint32_t version;              // model: kSidebandVersion
  uint32_t log_capacity;         // model: kWriteLogCapacity
  uint32_t read_to_clear_count;  // model: ranges in use, <= kMaxReadToClearRanges
  uint32_t reserved0;
  ReadToClearRange read_to_clear[kMaxReadToClearRanges];  // model
  uint8_t reserved1[128 - 88];
  alignas(64) uint32_t log_tail;  // driver: free-running count of entries appended
  uint8_t reserved2[60];
  alignas(64) uint32_t log_head;  // model: free-running count of entries applied
  uint8_t reserved3[60];
  MmioWrite log[kWriteLogCapacity];  // driver: entry i at log[i % capacity]
};
// uldd-internal ABI (this header): pinned so driver and model builds agree.
static_assert(sizeof(SidebandLayout) == 256 + 8 * kWriteLogCapacity);
static_assert(sizeof(SidebandLayout) <= kSidebandBytes);
static_assert(offsetof(SidebandLayout, read_to_clear) == 24);
static_assert(offsetof(SidebandLayout, log_tail) == 128);
static_assert(offsetof(SidebandLayout, log_head) == 192);
static_assert(offsetof(SidebandLayout, log) == 256);
static_assert((kWriteLogCapacity & (kWriteLogCapacity - 1)) == 0);

// Where the side band of a BAR memfd of `bar_memfd_bytes` would be.
inline size_t sideband_offset(size_t bar_memfd_bytes) {
  return bar_memfd_bytes - kSidebandBytes;
}

// Model end: publishes the side band and consumes the write log.
class MmioSidebandHost {
 public:
  // Initialises the side band at the end of `bar` (the whole BAR memfd
  // mapping) and publishes it. Fails when the BAR is smaller than
  // kMinBarWithSideband or there are too many or malformed ranges.
  static Result<MmioSidebandHost> publish(std::span<std::byte> bar,
                                          std::span<const ReadToClearRange> read_to_clear);

  // Takes the next logged write; false when the log is empty. A log whose
  // indices are more than one ring apart (a driver scribbled on them) is
  // resynchronised to empty and counted in index_violations().
  bool pop(MmioWrite* out);
  // Tells the driver that every write taken so far has been applied: frees
  // their slots and completes the driver's read flush. Call after applying a
  // batch (and within every kWriteLogCapacity / 2 entries, so that a writer
  // waiting on a full log makes progress).
  void mark_applied();
  // Writes appended but not yet taken.
  uint32_t pending() const;
  uint64_t index_violations() const { return index_violations_; }
  // Bytes of the BAR below the side band: the register space proper.
  size_t register_bytes() const { return register_bytes_; }

 private:
  MmioSidebandHost(SidebandLayout* layout, size_t register_bytes)
      : layout_(layout), register_bytes_(register_bytes) {}

  SidebandLayout* layout_;
  size_t register_bytes_;
  uint32_t head_ = 0;  // private copy: never re-read what the driver could change
  uint64_t index_violations_ = 0;
};

// Atomic helpers the model uses on read-to-clear BAR words.
inline void fetch_or_register(std::byte* bar, size_t offset, uint32_t bits) {
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(bar + offset))
      .fetch_or(bits, std::memory_order_acq_rel);
}
// Returns the value before the addition (for carries into a high dword).
inline uint32_t fetch_add_register(std::byte* bar, size_t offset, uint32_t delta) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(bar + offset))
      .fetch_add(delta, std::memory_order_acq_rel);
}
inline uint32_t exchange_register(std::byte* bar, size_t offset, uint32_t value) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(bar + offset))
      .exchange(value, std::memory_order_acq_rel);
}

}  // namespace uldd::uio
