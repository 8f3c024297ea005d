#include "devices/nvme/prp_mapper.h"

#include <algorithm>
#include <cstring>

#include "devices/nvme/nvme_spec.h"

namespace uldd::nvme {
namespace {

constexpr uint64_t kPageMask = kPageSize - 1;

uint16_t invalid_field() {
  return status::make(status::kTypeGeneric, status::kInvalidField, true);
}
uint16_t transfer_error() {
  return status::make(status::kTypeGeneric, status::kDataTransferError, true);
}

}  // namespace

void PrpMapper::add(uint64_t addr, size_t length) {
  std::byte* p = dma_.data() + addr;
  if (count_ > 0) {
    iovec& last = iov_[count_ - 1];
    if (static_cast<std::byte*>(last.iov_base) + last.iov_len == p) {
      last.iov_len += length;
      return;
    }
  }
  iov_[count_++] = iovec{p, length};
}

uint16_t PrpMapper::map(uint64_t prp1, uint64_t prp2, size_t length) {
  count_ = 0;
  if (length == 0 || length > kMaxTransfer) return invalid_field();
  // §4.3: the offset of PRP1 must be dword aligned.
  if ((prp1 & 3) != 0) return invalid_field();
  size_t first = std::min<size_t>(length, kPageSize - (prp1 & kPageMask));
  if (!in_region(prp1, first)) return transfer_error();
  add(prp1, first);
  size_t remaining = length - first;
  if (remaining == 0) return 0;

  if (remaining <= kPageSize) {  // PRP2 is the second (and last) data page
    if ((prp2 & kPageMask) != 0) return invalid_field();
    if (!in_region(prp2, remaining)) return transfer_error();
    add(prp2, remaining);
    return 0;
  }

  // PRP2 is a PRP list pointer; it may carry an offset into its page (we
  // require it to be qword aligned: entries are qwords). The last entry of a
  // list page points to the next list page when more than one page of data is
  // still to come.
  uint64_t list = prp2;
  if ((list & 7) != 0) return invalid_field();
  // Every hop consumes at least one data page or moves to a page-aligned list
  // page (511 data entries), so a hostile chain cannot loop; the bound is a
  // second line of defence.
  for (int hops = 0; remaining > 0; ++hops) {
    if (hops > static_cast<int>(kMaxSegments)) return invalid_field();
    size_t slots = (kPageSize - (list & kPageMask)) / sizeof(uint64_t);
    for (size_t i = 0; i < slots && remaining > 0; ++i) {
      uint64_t at = list + i * sizeof(uint64_t);
      if (!in_region(at, sizeof(uint64_t))) return transfer_error();
      uint64_t entry;
      std::memcpy(&entry, dma_.data() + at, sizeof entry);  // read each entry once
      // §4.3: entries inside a PRP list, including the chain pointer, have no offset.
      if ((entry & kPageMask) != 0) return invalid_field();
      if (i == slots - 1 && remaining > kPageSize) {
        list = entry;  // chain to the next list page
        break;
      }
      size_t run = std::min<size_t>(remaining, kPageSize);
      if (!in_region(entry, run)) return transfer_error();
      add(entry, run);
      remaining -= run;
    }
  }
  return 0;
}

void PrpMapper::copy_in(const void* src, size_t length) const {
  const auto* s = static_cast<const std::byte*>(src);
  for (size_t i = 0; i < count_ && length > 0; ++i) {
    size_t n = std::min(length, iov_[i].iov_len);
    std::memcpy(iov_[i].iov_base, s, n);
    s += n;
    length -= n;
  }
}

void PrpMapper::copy_out(void* dst, size_t length) const {
  auto* d = static_cast<std::byte*>(dst);
  for (size_t i = 0; i < count_ && length > 0; ++i) {
    size_t n = std::min(length, iov_[i].iov_len);
    std::memcpy(d, iov_[i].iov_base, n);
    d += n;
    length -= n;
  }
}

}  // namespace uldd::nvme
