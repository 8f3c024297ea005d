#include "devices/nvme/file_backing_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace uldd::nvme {

Result<std::unique_ptr<FileBackingStore>> FileBackingStore::open(const std::string& path,
                                                                 uint64_t size) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return errno_error("open(" + path + ")");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("fstat(" + path + ")");
  // Only regular files can be sized; a block device is used as it is.
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) < size) {
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
      return errno_error("ftruncate(" + path + ")");
  }
  return std::unique_ptr<FileBackingStore>(new FileBackingStore(std::move(fd), size, path));
}

Status FileBackingStore::transfer(bool is_write, uint64_t offset, std::span<const iovec> iov) {
  size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  // Fast path: the whole command in one syscall, which is what regular files do.
  ssize_t n = is_write ? ::pwritev(fd_.get(), iov.data(), static_cast<int>(iov.size()),
                                   static_cast<off_t>(offset))
                       : ::preadv(fd_.get(), iov.data(), static_cast<int>(iov.size()),
                                  static_cast<off_t>(offset));
  if (n >= 0 && static_cast<size_t>(n) == total) return {};
  if (n < 0 && errno != EINTR)
    return errno_error(std::string(is_write ? "pwritev(" : "preadv(") + path_ + ")");
  // Slow path (short transfer, EINTR): finish buffer by buffer.
  size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  uint64_t pos = offset;
  for (const iovec& v : iov) {
    auto* p = static_cast<char*>(v.iov_base);
    size_t len = v.iov_len;
    size_t skip = done < len ? done : len;
    done -= skip;
    p += skip;
    pos += skip;
    len -= skip;
    while (len > 0) {
      ssize_t r = is_write ? ::pwrite(fd_.get(), p, len, static_cast<off_t>(pos))
                           : ::pread(fd_.get(), p, len, static_cast<off_t>(pos));
      if (r < 0) {
        if (errno == EINTR) continue;
        return errno_error(std::string(is_write ? "pwrite(" : "pread(") + path_ + ")");
      }
      if (r == 0) {
        if (is_write) return plain_error("pwrite(" + path_ + "): wrote nothing");
        std::memset(p, 0, len);  // past the end of a shrunk file: reads as zeroes
        r = static_cast<ssize_t>(len);
      }
      p += r;
      pos += static_cast<uint64_t>(r);
      len -= static_cast<size_t>(r);
    }
  }
  return {};
}

Status FileBackingStore::read(uint64_t offset, std::span<const iovec> iov) {
  return transfer(false, offset, iov);
}

Status FileBackingStore::write(uint64_t offset, std::span<const iovec> iov) {
  return transfer(true, offset, iov);
}

Status FileBackingStore::flush() {
  if (::fdatasync(fd_.get()) != 0) return errno_error("fdatasync(" + path_ + ")");
  return {};
}

Status FileBackingStore::deallocate(uint64_t offset, uint64_t length) {
  if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) != 0) {
    // Deallocate is advisory: a file system without hole punching keeps the data.
    if (errno == EOPNOTSUPP) return {};
    return errno_error("fallocate(PUNCH_HOLE, " + path_ + ")");
  }
  return {};
}

}  // namespace uldd::nvme
