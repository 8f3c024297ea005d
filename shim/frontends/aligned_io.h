// AlignedIo: byte-granular reads and writes on top of a BlockClient, which only
// takes whole sectors. The FUSE file receives whatever byte ranges
// applications write (`echo hi > /run/uldd/disk0` is a 3-byte write at offset
// 0), and an NBD client that negotiated no block size may do the same, so both
// frontends go through this adapter instead of each doing read-modify-write.
//
// Aligned requests pass straight through to the BlockClient on the caller's
// buffer (no copy, no lock). A request with a partial head and/or tail sector
// reads those sectors into small bounce buffers, merges, and writes them back
// while holding a striped lock on them, so two concurrent partial writes to
// disjoint bytes of one sector cannot lose either update. The middle of an
// unaligned request still goes straight through.
//
// Not covered: an aligned write racing a partial write to the same sector.
// Those two writes overlap in bytes, which is already an application-level
// race (as mixing O_DIRECT and buffered writes to one page is on Linux); the
// RMW may then put back the sector's earlier content in the bytes only the
// aligned write covered. Locking every aligned write would cost every
// loop/ext4 request for a case no correct application produces.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>

#include "abi/block_descriptor.h"
#include "shim/block_client.h"

namespace uldd::shim {

class AlignedIo {
 public:
  explicit AlignedIo(BlockClient& client);
  AlignedIo(const AlignedIo&) = delete;
  AlignedIo& operator=(const AlignedIo&) = delete;

  uint64_t size_bytes() const { return client_.size_bytes(); }
  BlockClient& client() { return client_; }

  // All three block the calling thread until the BlockClient completed every
  // part; call them from a frontend worker thread, never from a `done`
  // callback. A range not inside [0, size_bytes()) yields kInvalid without
  // touching the device; an empty range succeeds.
  abi::BlockStatus read(uint64_t offset, std::span<std::byte> dest);
  abi::BlockStatus write(uint64_t offset, std::span<const std::byte> data);
  abi::BlockStatus flush();

  bool is_aligned(uint64_t offset, uint64_t length) const {
    return (offset % sector_) == 0 && (length % sector_) == 0;
  }

  // Writes that needed a read-modify-write (a partial head or tail sector);
  // ext4 on a loop device never makes one, so a non-zero count there is news.
  uint64_t partial_writes() const { return partial_writes_.load(std::memory_order_relaxed); }

 private:
  // Partial sectors are rare (FUSE metadata-sized writes), so a small table
  // keeps false sharing negligible. Head and tail of one request may land
  // in the same stripe; write() locks each stripe once, in index order.
  static constexpr size_t kStripes = 64;

  bool in_range(uint64_t offset, uint64_t length) const;
  size_t stripe_of(uint64_t sector_offset) const;

  BlockClient& client_;
  const uint32_t sector_;
  std::array<std::mutex, kStripes> stripes_;
  std::atomic<uint64_t> partial_writes_{0};
};

}  // namespace uldd::shim
