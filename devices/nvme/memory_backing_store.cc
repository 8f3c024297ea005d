#include "devices/nvme/memory_backing_store.h"

#include <cerrno>
#include <cstring>

namespace uldd::nvme {

Status MemoryBackingStore::check(uint64_t offset, std::span<const iovec> iov) const {
  if (fail_io_) return Error{EIO, "memory store: injected I/O error"};
  uint64_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  if (offset > data_.size() || total > data_.size() - offset)
    return Error{EINVAL, "memory store: access beyond the end"};
  return {};
}

Status MemoryBackingStore::read(uint64_t offset, std::span<const iovec> iov) {
  ULDD_TRY(check(offset, iov));
  for (const iovec& v : iov) {
    std::memcpy(v.iov_base, data_.data() + offset, v.iov_len);
    offset += v.iov_len;
  }
  return {};
}

Status MemoryBackingStore::write(uint64_t offset, std::span<const iovec> iov) {
  ULDD_TRY(check(offset, iov));
  for (const iovec& v : iov) {
    std::memcpy(data_.data() + offset, v.iov_base, v.iov_len);
    offset += v.iov_len;
  }
  return {};
}

Status MemoryBackingStore::flush() {
  if (fail_io_) return Error{EIO, "memory store: injected flush error"};
  ++flushes_;
  return {};
}

Status MemoryBackingStore::deallocate(uint64_t offset, uint64_t length) {
  if (offset > data_.size() || length > data_.size() - offset)
    return Error{EINVAL, "memory store: deallocate beyond the end"};
  std::memset(data_.data() + offset, 0, length);
  return {};
}

}  // namespace uldd::nvme
