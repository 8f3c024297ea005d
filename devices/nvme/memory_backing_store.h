// MemoryBackingStore: NVMe media in a heap buffer, for tests. It counts flushes
// and can be told to fail I/O, so tests can see that Flush reaches the media and
// that media errors become NVMe status codes.
#pragma once

#include <vector>

#include "devices/nvme/backing_store.h"

namespace uldd::nvme {

class MemoryBackingStore final : public BackingStore {
 public:
  explicit MemoryBackingStore(uint64_t size) : data_(size) {}

  uint64_t size() const override { return data_.size(); }
  Status read(uint64_t offset, std::span<const iovec> iov) override;
  Status write(uint64_t offset, std::span<const iovec> iov) override;
  Status flush() override;
  Status deallocate(uint64_t offset, uint64_t length) override;

  std::span<std::byte> bytes() { return data_; }
  uint64_t flush_count() const { return flushes_; }
  void set_fail_io(bool fail) { fail_io_ = fail; }

 private:
  Status check(uint64_t offset, std::span<const iovec> iov) const;

  std::vector<std::byte> data_;
  uint64_t flushes_ = 0;
  bool fail_io_ = false;
};

}  // namespace uldd::nvme
