// BlockClient: what a frontend (FUSE file, NBD server, benchmark) sees of a
// disk shim. The shim behind it owns the DMA buffers, the in-flight table and
// the rings to the driver; frontends never see any of those.
//
// Contract:
//  - offsets and lengths are multiples of sector_size() (512) and inside
//    [0, size_bytes()); frontends that accept byte-granular I/O do the
//    read-modify-write themselves (shim/frontends/aligned_io.h);
//  - any length is accepted: the shim splits it into transfers the driver can
//    take and calls `done` once, after every part completed;
//  - calls are thread-safe and may block the caller while the shim's queue is
//    full (back-pressure): FUSE requests then wait, an NBD connection stops
//    reading its socket;
//  - `done` runs on the shim's own thread; it must not block for long and must
//    not call back into the shim synchronously;
//  - buffers passed in (`data` of write, `dest` of read) must stay valid until
//    `done` has been called;
//  - while the driver is being restarted requests are held, not failed; a
//    device whose policy gave up completes them with kDeviceFailed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "abi/block_descriptor.h"

namespace uldd::shim {

using BlockDone = std::function<void(abi::BlockStatus)>;

class BlockClient {
 public:
  virtual ~BlockClient() = default;

  virtual uint64_t size_bytes() const = 0;
  virtual uint32_t sector_size() const { return abi::kSectorSize; }

  // Reads dest.size() bytes at `offset` into `dest`.
  virtual void read(uint64_t offset, std::span<std::byte> dest, BlockDone done) = 0;
  // Writes `data` at `offset`.
  virtual void write(uint64_t offset, std::span<const std::byte> data, BlockDone done) = 0;
  // Completes after every write acknowledged before it is durable on the media.
  virtual void flush(BlockDone done) = 0;
};

// Synchronous helpers for frontends that serve one request per thread.
abi::BlockStatus read_sync(BlockClient& client, uint64_t offset, std::span<std::byte> dest);
abi::BlockStatus write_sync(BlockClient& client, uint64_t offset, std::span<const std::byte> data);
abi::BlockStatus flush_sync(BlockClient& client);

}  // namespace uldd::shim
