// JournalSink: an spdlog sink that logs each message as one structured
// journal entry instead of a line of text, when the supervisor's stderr is
// the journal anyway (configure_logging.h decides). Fields:
//   MESSAGE=            the formatted message (no time or level prefix:
//                       journald stamps entries itself)
//   PRIORITY=           syslog priority of the spdlog level (info -> 6)
//   SYSLOG_IDENTIFIER=  "uldd-supervisor"
//   CODE_FILE=, CODE_LINE=, CODE_FUNC=  when the call site is known
//                       (SPDLOG_LOGGER_* macros)
//   + this thread's ScopedLogFields (DEVICE=, DRIVER_PID=, EVENT=, ...)
//
// The fields are read on the thread that logs, so the logger must be
// synchronous (spdlog's default; an async logger would read the wrong
// thread's fields). If the journal refuses an entry, the message is written
// as text to the fallback fd (stderr, which is the journal's stream) so
// that nothing is lost silently.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>

#include "supervisor/logging/journal_writer.h"

namespace uldd::supervisor::logging {

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  JournalSink(std::unique_ptr<JournalWriter> writer, std::string identifier, int fallback_fd = 2)
      : writer_(std::move(writer)), identifier_(std::move(identifier)), fallback_fd_(fallback_fd) {}

  // syslog priority of an spdlog level: trace/debug 7, info 6, warn 4,
  // error 3, critical 2.
  static int priority(spdlog::level::level_enum level);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::unique_ptr<JournalWriter> writer_;
  std::string identifier_;
  int fallback_fd_;
  bool warned_ = false;
};

}  // namespace uldd::supervisor::logging
