#include "shim/frontends/fuse_connection_abort.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace uldd::shim {
namespace {

Status write_abort(const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open(" + file + ")");
  ssize_t n = ::write(fd, "1", 1);
  int err = errno;
  ::close(fd);
  if (n != 1) return Error{err, "write(" + file + ")"};
  return {};
}

}  // namespace

Status abort_fuse_connection(unsigned connection, std::string* where) {
  const std::string name = std::to_string(connection) + "/abort";
  const std::string usual = "/sys/fs/fuse/connections/" + name;
  Status s = write_abort(usual);
  if (s || s.error().code != ENOENT) {
    if (s && where != nullptr) *where = usual;
    return s;
  }
  // fusectl is not mounted there: mount a private instance for the moment.
  char dir[] = "/run/uldd-fusectl.XXXXXX";
  char tmp_dir[] = "/tmp/uldd-fusectl.XXXXXX";
  char* made = ::mkdtemp(dir);
  if (made == nullptr) made = ::mkdtemp(tmp_dir);
  if (made == nullptr) return errno_error("mkdtemp for a private fusectl mount");
  const std::string base = made;
  if (::mount("fusectl", base.c_str(), "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    Error e = errno_error("mount(fusectl, " + base + ")");
    ::rmdir(base.c_str());
    return e;
  }
  const std::string file = base + "/" + name;
  s = write_abort(file);
  if (s && where != nullptr) *where = file + " (private fusectl mount)";
  ::umount2(base.c_str(), MNT_DETACH);
  ::rmdir(base.c_str());
  return s;
}

}  // namespace uldd::shim
