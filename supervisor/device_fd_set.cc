#include "supervisor/device_fd_set.h"

#include <fcntl.h>
#include <unistd.h>

namespace uldd::supervisor {

Status new_lifeline_pipe(UniqueFd& write_end, UniqueFd& model_end) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return errno_error("pipe2(lifeline)");
  model_end.reset(ends[0]);
  write_end.reset(ends[1]);
  return {};
}

}  // namespace uldd::supervisor
