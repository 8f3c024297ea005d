// VerifiedDisk: see verified_disk.h.
#include "faultinject/campaign/verified_disk.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <span>

#include "faultinject/campaign/block_pattern.h"

namespace uldd::campaign {
namespace {

constexpr uint32_t kChunkBytes = 1u << 20;  // read-back transfer size

}  // namespace

void VerifiedDisk::FreeBuffer::operator()(std::byte* p) const {
  std::free(p);
}

Result<VerifiedDisk> VerifiedDisk::open(const std::filesystem::path& path, uint32_t blocks,
                                        uint32_t block_size, uint64_t stream,
                                        std::chrono::steady_clock::time_point t0) {
  if (block_size == 0 || block_size % 4096 != 0)
    return plain_error("verified-writer: block_size " + std::to_string(block_size) +
                       " is not a multiple of 4096");
  bool direct = true;
  int fd = ::open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (fd < 0 && errno == EINVAL) {
    direct = false;
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) return errno_error("verified-writer: open(" + path.string() + ")");
  VerifiedDisk d(UniqueFd(fd), direct, blocks, block_size, stream, t0);
  if (d.buffer_ == nullptr) return plain_error("verified-writer: out of memory for the buffer");
  return d;
}

VerifiedDisk::VerifiedDisk(UniqueFd fd, bool direct, uint32_t blocks, uint32_t block_size,
                           uint64_t stream, std::chrono::steady_clock::time_point t0)
    : fd_(std::move(fd)),
      direct_(direct),
      blocks_(blocks),
      block_size_(block_size),
      stream_(stream),
      t0_(t0),
      rng_(stream ^ 0x5752495445520000ull),
      acknowledged_(blocks, 0),
      in_doubt_(blocks, 0) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, std::max(kChunkBytes, block_size)) == 0)
    buffer_.reset(static_cast<std::byte*>(p));
}

uint64_t VerifiedDisk::now_ms() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_)
          .count());
}

void VerifiedDisk::record_error(const char* op, uint64_t lba, ssize_t got, size_t want) {
  if (++io_error_count_ > kMaxIoErrorsKept) return;
  IoError e;
  e.at_ms = now_ms();
  e.op = op;
  e.lba = lba;
  if (got < 0) {
    e.error = errno;
    e.message = std::string(op) + " at block " + std::to_string(lba) + ": " + std::strerror(errno);
  } else {
    e.message = std::string(op) + " at block " + std::to_string(lba) + ": short transfer (" +
                std::to_string(got) + " of " + std::to_string(want) + " bytes)";
  }
  io_errors_.push_back(std::move(e));
}

bool VerifiedDisk::write_one() {
  uint64_t lba = rng_.below(blocks_);
  uint64_t gen = next_generation_++;
  std::span<std::byte> block(buffer_.get(), block_size_);
  fill_block(block, stream_, lba, gen);
  ssize_t n;
  do {
    n = ::pwrite(fd_.get(), block.data(), block.size(), static_cast<off_t>(lba * block_size_));
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(block.size())) {
    record_error("write", lba, n, block.size());
    in_doubt_[lba] = gen;
    return false;
  }
  acknowledged_[lba] = gen;
  in_doubt_[lba] = 0;
  ++acknowledged_count_;
  uint64_t bucket = now_ms() / 100;
  if (per_100ms_.size() <= bucket) per_100ms_.resize(bucket + 1, 0);
  ++per_100ms_[bucket];
  return true;
}

std::vector<DataProblem> VerifiedDisk::verify_all(int32_t after_fault) {
  std::vector<DataProblem> fresh;
  ++verifications_;
  const uint32_t chunk_blocks = std::max<uint32_t>(1, kChunkBytes / block_size_);
  for (uint64_t first = 0; first < blocks_; first += chunk_blocks) {
    uint64_t count = std::min<uint64_t>(chunk_blocks, blocks_ - first);
    size_t want = count * block_size_;
    ssize_t n;
    do {
      n = ::pread(fd_.get(), buffer_.get(), want, static_cast<off_t>(first * block_size_));
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(want)) {
      record_error("read", first, n, want);
      continue;
    }
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t lba = first + i;
      std::span<const std::byte> block(buffer_.get() + i * block_size_, block_size_);
      BlockCheck c = check_block(block, stream_, lba, acknowledged_[lba], in_doubt_[lba]);
      if (c.verdict == BlockCheck::Verdict::kOk) continue;
      if (!reported_.emplace(lba, acknowledged_[lba]).second) continue;
      DataProblem p;
      p.kind = c.verdict == BlockCheck::Verdict::kLost ? DataProblem::Kind::kLost
                                                       : DataProblem::Kind::kCorrupted;
      p.lba = lba;
      p.expected_generation = acknowledged_[lba];
      p.found_generation = c.found_generation;
      p.first_wrong_offset = c.first_wrong_offset;
      p.after_fault = after_fault;
      p.at_ms = now_ms();
      fresh.push_back(p);
      problems_.push_back(p);
    }
  }
  return fresh;
}

}  // namespace uldd::campaign
