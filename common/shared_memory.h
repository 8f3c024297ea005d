// SharedMemory: a memfd and its mapping. Every region shared between the
// supervisor, a driver and a device model (DMA, rings, checkpoint, control
// block, emulated BAR) is one of these. The supervisor creates them; the other
// processes attach to the fd they were handed and map it.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd {

class SharedMemory {
 public:
  // Creates a memfd of `size` bytes (zero-filled) and maps it read-write.
  static Result<SharedMemory> create(const std::string& name, size_t size);
  // Maps an existing memfd; its size is taken from fstat and must be at least
  // `min_size` (a region smaller than its header promises is refused).
  static Result<SharedMemory> attach(UniqueFd fd, size_t min_size, const std::string& what);

  SharedMemory() = default;
  ~SharedMemory();
  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<std::byte> bytes() const { return {data_, size_}; }
  int fd() const { return fd_.get(); }

  template <class T>
  T* as(size_t offset = 0) const {
    return reinterpret_cast<T*>(data_ + offset);
  }

 private:
  void unmap();

  UniqueFd fd_;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace uldd
