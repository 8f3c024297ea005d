#include "shim/frontends/aligned_io.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <vector>

namespace uldd::shim {
namespace {

using abi::BlockStatus;

// Waits for several BlockClient requests issued together; keeps the first
// error. Lives on the caller's stack: the last callback notifies while holding
// the mutex, so wait() cannot return (and the group die) before the callback
// is done touching it.
class CompletionGroup {
 public:
  BlockDone add() {
    std::lock_guard lock(mutex_);
    ++outstanding_;
    return [this](BlockStatus status) {
      std::lock_guard inner(mutex_);
      if (status != BlockStatus::kOk && first_error_ == BlockStatus::kOk) first_error_ = status;
      if (--outstanding_ == 0) done_.notify_all();
    };
  }

  BlockStatus wait() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return outstanding_ == 0; });
    return first_error_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  int outstanding_ = 0;
  BlockStatus first_error_ = BlockStatus::kOk;
};

// The sectors a byte range [offset, offset + length) touches, split into an
// optional partial head sector, an aligned middle and an optional partial
// tail sector. When the whole range sits inside one sector, only `head` is
// set.
struct Split {
  bool head = false;
  uint64_t head_sector = 0;  // byte offset of the head sector
  bool tail = false;
  uint64_t tail_sector = 0;
  uint64_t middle_begin = 0;  // byte offsets; middle_begin == middle_end: none
  uint64_t middle_end = 0;
};

Split split(uint64_t offset, uint64_t length, uint64_t sector) {
  const uint64_t end = offset + length;
  Split s;
  s.middle_begin = offset;
  s.middle_end = end;
  if (offset % sector != 0) {
    s.head = true;
    s.head_sector = offset - offset % sector;
    s.middle_begin = s.head_sector + sector;
  }
  if (end % sector != 0) {
    const uint64_t last = end - end % sector;
    if (!s.head || last != s.head_sector) {
      s.tail = true;
      s.tail_sector = last;
    }
    s.middle_end = last;
  }
  if (s.middle_end < s.middle_begin) s.middle_end = s.middle_begin;  // single partial sector
  return s;
}

}  // namespace

AlignedIo::AlignedIo(BlockClient& client) : client_(client), sector_(client.sector_size()) {}

bool AlignedIo::in_range(uint64_t offset, uint64_t length) const {
  const uint64_t size = client_.size_bytes();
  return offset <= size && length <= size - offset;
}

size_t AlignedIo::stripe_of(uint64_t sector_offset) const {
  return (sector_offset / sector_) % kStripes;
}

BlockStatus AlignedIo::read(uint64_t offset, std::span<std::byte> dest) {
  if (!in_range(offset, dest.size())) return BlockStatus::kInvalid;
  if (dest.empty()) return BlockStatus::kOk;
  if (is_aligned(offset, dest.size())) return read_sync(client_, offset, dest);

  const Split s = split(offset, dest.size(), sector_);
  std::vector<std::byte> head(s.head ? sector_ : 0);
  std::vector<std::byte> tail(s.tail ? sector_ : 0);
  CompletionGroup group;
  if (s.head) client_.read(s.head_sector, head, group.add());
  if (s.middle_end > s.middle_begin) {
    client_.read(s.middle_begin,
                 dest.subspan(s.middle_begin - offset, s.middle_end - s.middle_begin), group.add());
  }
  if (s.tail) client_.read(s.tail_sector, tail, group.add());
  const BlockStatus status = group.wait();
  if (status != BlockStatus::kOk) return status;

  const uint64_t end = offset + dest.size();
  if (s.head) {
    const uint64_t from = offset - s.head_sector;
    const uint64_t to = std::min<uint64_t>(end, s.head_sector + sector_) - s.head_sector;
    std::memcpy(dest.data(), head.data() + from, to - from);
  }
  if (s.tail) {
    std::memcpy(dest.data() + (s.tail_sector - offset), tail.data(), end - s.tail_sector);
  }
  return BlockStatus::kOk;
}

BlockStatus AlignedIo::write(uint64_t offset, std::span<const std::byte> data) {
  if (!in_range(offset, data.size())) return BlockStatus::kInvalid;
  if (data.empty()) return BlockStatus::kOk;
  if (is_aligned(offset, data.size())) return write_sync(client_, offset, data);

  partial_writes_.fetch_add(1, std::memory_order_relaxed);
  const Split s = split(offset, data.size(), sector_);
  const uint64_t end = offset + data.size();

  // Lock the partial sectors' stripes, lowest index first, each once.
  size_t first = s.head ? stripe_of(s.head_sector) : stripe_of(s.tail_sector);
  size_t second = s.tail ? stripe_of(s.tail_sector) : first;
  if (second < first) std::swap(first, second);
  std::unique_lock lock_first(stripes_[first]);
  std::unique_lock<std::mutex> lock_second;
  if (second != first) lock_second = std::unique_lock(stripes_[second]);

  std::vector<std::byte> head(s.head ? sector_ : 0);
  std::vector<std::byte> tail(s.tail ? sector_ : 0);
  {
    CompletionGroup reads;
    if (s.head) client_.read(s.head_sector, head, reads.add());
    if (s.tail) client_.read(s.tail_sector, tail, reads.add());
    const BlockStatus status = reads.wait();
    if (status != BlockStatus::kOk) return status;
  }
  if (s.head) {
    const uint64_t from = offset - s.head_sector;
    const uint64_t to = std::min<uint64_t>(end, s.head_sector + sector_) - s.head_sector;
    std::memcpy(head.data() + from, data.data(), to - from);
  }
  if (s.tail) {
    std::memcpy(tail.data(), data.data() + (s.tail_sector - offset), end - s.tail_sector);
  }

  CompletionGroup writes;
  if (s.head) client_.write(s.head_sector, head, writes.add());
  if (s.middle_end > s.middle_begin) {
    client_.write(s.middle_begin,
                  data.subspan(s.middle_begin - offset, s.middle_end - s.middle_begin),
                  writes.add());
  }
  if (s.tail) client_.write(s.tail_sector, tail, writes.add());
  return writes.wait();
}

BlockStatus AlignedIo::flush() {
  return flush_sync(client_);
}

}  // namespace uldd::shim
