// MetricsFile: keeps the OpenMetrics text in a file that node_exporter's
// textfile collector (or anything else) may read at any moment: each write
// goes to a temporary file in the same directory, which is then renamed over
// the target, so a reader sees the old text or the new one, never half of
// one. The temporary name starts with '.' and does not end in ".prom", so
// the collector (which reads *.prom) never picks it up. The file is 0644
// whatever the umask: the collector usually runs as another user.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.h"

namespace uldd::supervisor::metrics {

class MetricsFile {
 public:
  explicit MetricsFile(std::filesystem::path path) : path_(std::move(path)) {}

  const std::filesystem::path& path() const { return path_; }
  // Replaces the file's content with `text`; on failure the old file stays
  // and no temporary file is left behind.
  Status write(std::string_view text) const;
  // Removes the file (at a clean stop: stale figures must not look current).
  void remove() const;

 private:
  std::filesystem::path path_;
};

}  // namespace uldd::supervisor::metrics
