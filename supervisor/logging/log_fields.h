// ScopedLogFields: structured fields (DEVICE=, DRIVER_PID=, EVENT=, ...) that
// every message logged on this thread carries while the scope lives, so that
// `journalctl DEVICE=disk0` finds a device's messages without each log call
// repeating them:
//
//   ScopedLogFields f{{"DEVICE", name}, {"DRIVER_PID", std::to_string(pid)}};
//   spdlog::info("...");   // the journal entry has DEVICE= and DRIVER_PID=
//
// Thread-local and strictly nested (objects live on the stack; not copyable
// or movable). An inner scope's field hides an outer one of the same name.
// Only the journal sink (journal_sink.h) reads them; the text on stderr does
// not change. Names follow journal field rules: A-Z, 0-9, '_', not starting
// with '_' or a digit, at most 64 characters; others are dropped when read.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace uldd::supervisor::logging {

struct LogField {
  std::string name;   // "DEVICE"
  std::string value;  // "disk0"
};

namespace log_fields_detail {
// Inline (header-only) so that code which only sets fields, like the restart
// engine, needs no link dependency on the logging library.
inline thread_local std::vector<LogField> t_fields;
}  // namespace log_fields_detail

class ScopedLogFields {
 public:
  ScopedLogFields(std::initializer_list<LogField> fields)
      : depth_before_(log_fields_detail::t_fields.size()) {
    log_fields_detail::t_fields.insert(log_fields_detail::t_fields.end(), fields.begin(),
                                       fields.end());
  }
  ~ScopedLogFields() { log_fields_detail::t_fields.resize(depth_before_); }
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  size_t depth_before_;
};

// This thread's fields, innermost last (hidden duplicates included).
inline const std::vector<LogField>& current_log_fields() {
  return log_fields_detail::t_fields;
}

// Whether `name` may be a journal field name set by a client.
bool is_valid_journal_field_name(std::string_view name);

}  // namespace uldd::supervisor::logging
