#include "devices/e1000/fd_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace uldd::e1000 {

Result<FdWire> FdWire::adopt(UniqueFd fd) {
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return errno_error("fcntl(O_NONBLOCK) on the wire fd");
  return FdWire(std::move(fd));
}

Result<size_t> FdWire::receive(std::span<std::byte> buffer) {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return errno_error("read(wire)");
  }
}

Status FdWire::send(std::span<const std::byte> frame) {
  for (;;) {
    ssize_t n = ::write(fd_.get(), frame.data(), frame.size());
    if (n == static_cast<ssize_t>(frame.size())) return {};
    if (n >= 0) return plain_error("write(wire): short write");
    if (errno == EINTR) continue;
    return errno_error("write(wire)");
  }
}

}  // namespace uldd::e1000
