// Whole-buffer socket I/O for the NBD server: the protocol is a byte stream of
// fixed headers and payloads, and every short read or write must be resumed
// (EINTR, partial transfers) or turned into one error at this boundary.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <span>

#include "common/result.h"

namespace uldd::shim {

// Reads exactly buf.size() bytes. A clean end of stream before the first byte
// is reported as Error{0, "eof"} so callers can tell it from a failure.
Status read_full(int fd, std::span<std::byte> buf);
// Reads and drops `length` bytes (the payload of a rejected request).
Status discard(int fd, uint64_t length);
// Writes every byte of every iovec. MSG_NOSIGNAL: a peer that went away is an
// error here, not a SIGPIPE for the whole supervisor.
Status write_full(int fd, std::span<iovec> iov);
Status write_full(int fd, std::span<const std::byte> buf);

template <class T>
Status read_struct(int fd, T& value) {
  return read_full(fd, std::as_writable_bytes(std::span(&value, 1)));
}
template <class T>
Status write_struct(int fd, const T& value) {
  return write_full(fd, std::as_bytes(std::span(&value, 1)));
}

}  // namespace uldd::shim
