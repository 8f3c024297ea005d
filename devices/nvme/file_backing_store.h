// FileBackingStore: a disk image file as NVMe media. Reads and writes are one
// preadv/pwritev per command (the model is in the benchmark path), Flush is
// fdatasync, and deallocate punches a hole so trimmed blocks stop using space.
#pragma once

#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "devices/nvme/backing_store.h"

namespace uldd::nvme {

class FileBackingStore final : public BackingStore {
 public:
  // Opens `path` read-write, creating it if missing. A file shorter than `size`
  // is extended sparsely (ftruncate), so a fresh image costs no disk space; a
  // longer one is used only up to `size`.
  static Result<std::unique_ptr<FileBackingStore>> open(const std::string& path, uint64_t size);

  uint64_t size() const override { return size_; }
  Status read(uint64_t offset, std::span<const iovec> iov) override;
  Status write(uint64_t offset, std::span<const iovec> iov) override;
  Status flush() override;
  Status deallocate(uint64_t offset, uint64_t length) override;

 private:
  FileBackingStore(UniqueFd fd, uint64_t size, std::string path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
  Status transfer(bool is_write, uint64_t offset, std::span<const iovec> iov);

  UniqueFd fd_;
  uint64_t size_;
  std::string path_;  // for error messages only
};

}  // namespace uldd::nvme
