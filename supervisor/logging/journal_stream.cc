#include "supervisor/logging/journal_stream.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdint>

namespace uldd::supervisor::logging {

bool stream_is_journal(std::string_view journal_stream, int fd) {
  size_t colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  uint64_t dev = 0;
  uint64_t ino = 0;
  const char* first = journal_stream.data();
  const char* mid = first + colon;
  const char* last = first + journal_stream.size();
  auto d = std::from_chars(first, mid, dev);
  auto i = std::from_chars(mid + 1, last, ino);
  if (d.ec != std::errc() || d.ptr != mid || i.ec != std::errc() || i.ptr != last || colon == 0)
    return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<uint64_t>(st.st_dev) == dev && static_cast<uint64_t>(st.st_ino) == ino;
}

}  // namespace uldd::supervisor::logging
