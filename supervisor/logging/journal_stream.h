// stream_is_journal: whether an fd is the stream systemd connected to the
// journal. systemd sets JOURNAL_STREAM="<device>:<inode>" for a service whose
// stdout or stderr goes to the journal; the fd is that stream only if its
// fstat() matches (a shell redirect, `2>file`, or a child of the service that
// got other fds inherits the variable but not the stream).
#pragma once

#include <string_view>

namespace uldd::supervisor::logging {

// journal_stream: the variable's value ("" or unparsable = no).
bool stream_is_journal(std::string_view journal_stream, int fd);

}  // namespace uldd::supervisor::logging
