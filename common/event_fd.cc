#include "common/event_fd.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace uldd {

Result<EventFd> EventFd::create() {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return errno_error("eventfd");
  return EventFd(UniqueFd(fd));
}

void signal_eventfd(int fd) {
  uint64_t one = 1;
  // EAGAIN only when the counter would overflow, i.e. the peer is already
  // overwhelmingly signalled; nothing is lost by dropping this kick.
  [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
}

uint64_t drain_eventfd(int fd) {
  uint64_t count = 0;
  if (::read(fd, &count, sizeof count) != sizeof count) return 0;
  return count;
}

void EventFd::signal() const { signal_eventfd(fd_.get()); }

uint64_t EventFd::drain() const { return drain_eventfd(fd_.get()); }

Result<uint64_t> EventFd::wait_for(std::chrono::microseconds timeout) const {
  pollfd p{fd_.get(), POLLIN, 0};
  int ms = timeout.count() < 0 ? -1 : static_cast<int>((timeout.count() + 999) / 1000);
  int r = ::poll(&p, 1, ms);
  if (r < 0) {
    if (errno == EINTR) return uint64_t{0};
    return errno_error("poll(eventfd)");
  }
  if (r == 0) return uint64_t{0};
  return drain();
}

}  // namespace uldd
