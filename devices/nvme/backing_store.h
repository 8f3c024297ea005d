// BackingStore: the media behind an emulated disk. The NVMe device model moves
// data between DMA memory and the store with scatter/gather lists (one iovec per
// PRP run), so a store can serve a whole command with one preadv/pwritev and the
// model never copies block data. Tests plug in an in-memory store; uldd-hw uses
// a file.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "common/result.h"

namespace uldd::nvme {

class BackingStore {
 public:
  virtual ~BackingStore() = default;

  // Capacity in bytes. The controller range-checks every command against it,
  // so stores may assume offset + length <= size().
  virtual uint64_t size() const = 0;
  // Fills the buffers `iov` describes, in order, from bytes starting at `offset`.
  virtual Status read(uint64_t offset, std::span<const iovec> iov) = 0;
  // Stores the bytes `iov` describes at `offset`.
  virtual Status write(uint64_t offset, std::span<const iovec> iov) = 0;
  // Makes every write that completed before the call durable (NVMe Flush).
  virtual Status flush() = 0;
  // Hint that the range is no longer needed (Dataset Management, deallocate).
  // The range may read back as zeroes or as its old contents afterwards.
  virtual Status deallocate(uint64_t offset, uint64_t length) = 0;
};

}  // namespace uldd::nvme
