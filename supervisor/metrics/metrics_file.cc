#include "supervisor/metrics/metrics_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "common/unique_fd.h"

namespace uldd::supervisor::metrics {

Status MetricsFile::write(std::string_view text) const {
  std::filesystem::path tmp = path_.parent_path() / ("." + path_.filename().string() + ".tmp");
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("metrics: open " + tmp.string());
  Status result = [&]() -> Status {
    if (::fchmod(fd.get(), 0644) != 0)
      return errno_error("metrics: fchmod " + tmp.string());  // umask
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("metrics: write " + tmp.string());
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd.release()) != 0) return errno_error("metrics: close " + tmp.string());
    if (::rename(tmp.c_str(), path_.c_str()) != 0)
      return errno_error("metrics: rename to " + path_.string());
    return {};
  }();
  if (!result) ::unlink(tmp.c_str());
  return result;
}

void MetricsFile::remove() const {
  ::unlink(path_.c_str());
}

}  // namespace uldd::supervisor::metrics
