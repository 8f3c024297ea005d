// Checks on an fd inherited from the fd store before a device is brought up
// from it: each says what the fd must be (a sealed memfd of the size the
// configuration implies, an eventfd, /dev/fuse, a pipe, a listening unix
// socket, a TAP) and fails with a message naming the device's fd (`what`,
// "disk0.dma") and what was found instead. A configuration changed between
// the two runs (another size, another queue count) shows up here as a size
// mismatch, and the device starts fresh.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace uldd::supervisor::systemd {

// A memfd (F_GET_SEALS works) sealed against shrinking and growing, of
// exactly `size` bytes.
Status check_memfd(int fd, uint64_t size, const std::string& what);
Status check_eventfd(int fd, const std::string& what);
// The FUSE control device (character device 10:229).
Status check_fuse_device(int fd, const std::string& what);
// A pipe (the device model's lifeline, its write end).
Status check_pipe(int fd, const std::string& what);
// A listening AF_UNIX stream socket.
Status check_listening_unix_socket(int fd, const std::string& what);
// A TAP attached to interface `ifname` (TUNGETIFF).
Status check_tap(int fd, const std::string& ifname, const std::string& what);

}  // namespace uldd::supervisor::systemd
