#include "supervisor/logging/journal_sink.h"

#include <fmt/format.h>
#include <unistd.h>

#include <set>

#include "supervisor/logging/log_fields.h"

namespace uldd::supervisor::logging {

int JournalSink::priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;  // LOG_DEBUG
    case spdlog::level::info:
      return 6;  // LOG_INFO
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    default:
      return 6;
  }
}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg) {
  std::vector<std::string> fields;
  fields.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
  fields.push_back(fmt::format("PRIORITY={}", priority(msg.level)));
  fields.push_back("SYSLOG_IDENTIFIER=" + identifier_);
  if (!msg.source.empty()) {
    fields.push_back(fmt::format("CODE_FILE={}", msg.source.filename));
    fields.push_back(fmt::format("CODE_LINE={}", msg.source.line));
    if (msg.source.funcname != nullptr)
      fields.push_back(fmt::format("CODE_FUNC={}", msg.source.funcname));
  }
  // Innermost scope first, so that it hides outer fields of the same name;
  // the fields above are ours and cannot be overridden.
  std::set<std::string, std::less<>> taken{"MESSAGE",   "PRIORITY",  "SYSLOG_IDENTIFIER",
                                           "CODE_FILE", "CODE_LINE", "CODE_FUNC"};
  const auto& scoped = current_log_fields();
  for (auto it = scoped.rbegin(); it != scoped.rend(); ++it) {
    if (!is_valid_journal_field_name(it->name) || !taken.insert(it->name).second) continue;
    fields.push_back(it->name + "=" + it->value);
  }

  Status sent = writer_->send(fields);
  if (sent) return;
  std::string text = fmt::format("<{}>{}\n", priority(msg.level), fields[0].substr(8));
  if (!warned_) {
    warned_ = true;
    text = fmt::format("<4>journal: {}; logging as text to the journal's stream\n",
                       sent.error().describe()) +
           text;
  }
  // Best effort: there is nowhere else to report a failure to log.
  if (::write(fallback_fd_, text.data(), text.size()) < 0) return;
}

}  // namespace uldd::supervisor::logging
