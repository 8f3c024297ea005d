#include "common/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace uldd {
namespace {

Result<std::byte*> map_fd(int fd, size_t size, const std::string& what) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return errno_error("mmap(" + what + ")");
  return static_cast<std::byte*>(p);
}

}  // namespace

Result<SharedMemory> SharedMemory::create(const std::string& name, size_t size) {
  UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return errno_error("memfd_create(" + name + ")");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    return errno_error("ftruncate(" + name + ")");
  // The size is fixed for the life of the region: a driver must not be able to
  // shrink it under the supervisor's mapping (SIGBUS) or grow it.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return errno_error("F_ADD_SEALS(" + name + ")");
  auto data = map_fd(fd.get(), size, name);
  if (!data) return data.error();
  SharedMemory m;
  m.fd_ = std::move(fd);
  m.data_ = data.value();
  m.size_ = size;
  return m;
}

Result<SharedMemory> SharedMemory::attach(UniqueFd fd, size_t min_size, const std::string& what) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("fstat(" + what + ")");
  auto size = static_cast<size_t>(st.st_size);
  if (size < min_size || size == 0)
    return plain_error(what + ": region is " + std::to_string(size) + " bytes, needs at least " +
                       std::to_string(min_size));
  auto data = map_fd(fd.get(), size, what);
  if (!data) return data.error();
  SharedMemory m;
  m.fd_ = std::move(fd);
  m.data_ = data.value();
  m.size_ = size;
  return m;
}

SharedMemory::~SharedMemory() { unmap(); }

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : fd_(std::move(other.fd_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    unmap();
    fd_ = std::move(other.fd_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SharedMemory::unmap() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace uldd
