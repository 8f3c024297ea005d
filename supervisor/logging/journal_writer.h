// JournalWriter: hands one journal entry ("KEY=value" fields) to journald.
// An interface so that the journal sink's unit tests can record entries;
// the real one, from real_journal_writer(), is sd_journal_sendv(3), which
// sends one datagram in journald's native protocol to
// /run/systemd/journal/socket (journal_socket_test.cc checks that for real).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace uldd::supervisor::logging {

class JournalWriter {
 public:
  virtual ~JournalWriter() = default;
  // Each element is one field, "NAME=value"; the value may hold newlines
  // and any bytes.
  virtual Status send(const std::vector<std::string>& fields) = 0;
};

std::unique_ptr<JournalWriter> real_journal_writer();

}  // namespace uldd::supervisor::logging
