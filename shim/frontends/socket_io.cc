#include "shim/frontends/socket_io.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace uldd::shim {

Status read_full(int fd, std::span<std::byte> buf) {
  size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0) {
      return plain_error(done == 0 ? "eof" : "connection closed mid-message");
    } else if (errno != EINTR) {
      return errno_error("read(nbd socket)");
    }
  }
  return {};
}

Status discard(int fd, uint64_t length) {
  std::vector<std::byte> sink(std::min<uint64_t>(length, 1 << 20));
  while (length > 0) {
    const size_t chunk = std::min<uint64_t>(length, sink.size());
    ULDD_TRY(read_full(fd, std::span(sink).first(chunk)));
    length -= chunk;
  }
  return {};
}

Status write_full(int fd, std::span<iovec> iov) {
  size_t first = 0;
  for (;;) {
    // Nothing left but empty iovecs: done, without a zero-byte sendmsg that
    // would fail with EPIPE on a peer that already (legitimately) closed.
    while (first < iov.size() && iov[first].iov_len == 0) ++first;
    if (first == iov.size()) break;
    msghdr msg{};
    msg.msg_iov = iov.data() + first;
    msg.msg_iovlen = std::min<size_t>(iov.size() - first, 64);
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("sendmsg(nbd socket)");
    }
    // Advance past what was sent, possibly into the middle of an iovec.
    size_t sent = static_cast<size_t>(n);
    while (first < iov.size() && sent >= iov[first].iov_len) {
      sent -= iov[first].iov_len;
      ++first;
    }
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + sent;
      iov[first].iov_len -= sent;
    }
  }
  return {};
}

Status write_full(int fd, std::span<const std::byte> buf) {
  iovec iov{const_cast<std::byte*>(buf.data()), buf.size()};
  return write_full(fd, std::span(&iov, 1));
}

}  // namespace uldd::shim
