#include "supervisor/logging/configure_logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>

#include "supervisor/logging/journal_sink.h"
#include "supervisor/logging/journal_stream.h"

namespace uldd::supervisor::logging {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v";
constexpr const char* kIdentifier = "uldd-supervisor";

struct LevelName {
  std::string_view name;
  spdlog::level::level_enum level;
};
constexpr std::array<LevelName, 9> kLevels{{{"trace", spdlog::level::trace},
                                            {"debug", spdlog::level::debug},
                                            {"info", spdlog::level::info},
                                            {"warn", spdlog::level::warn},
                                            {"error", spdlog::level::err},
                                            {"critical", spdlog::level::critical},
                                            {"off", spdlog::level::off},
                                            {"warning", spdlog::level::warn},
                                            {"err", spdlog::level::err}}};

}  // namespace

Result<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  for (const auto& l : kLevels)
    if (l.name == name) return l.level;
  return Error{EINVAL, "unknown log level '" + std::string(name) +
                           "' (trace, debug, info, warn, error, critical or off)"};
}

std::string log_level_name() {
  spdlog::level::level_enum current = spdlog::get_level();
  for (const auto& l : kLevels)
    if (l.level == current) return std::string(l.name);
  return "info";
}

LogTarget choose_log_target(const char* journal_stream) {
  if (journal_stream == nullptr) return LogTarget::kStderrText;
  if (stream_is_journal(journal_stream, 2) || stream_is_journal(journal_stream, 1))
    return LogTarget::kJournal;
  return LogTarget::kStderrText;
}

Status configure_logging(std::string_view level) {
  auto parsed = parse_log_level(level);
  if (!parsed) return parsed.error();
  std::shared_ptr<spdlog::logger> logger;
  if (choose_log_target(std::getenv("JOURNAL_STREAM")) == LogTarget::kJournal) {
    auto sink = std::make_shared<JournalSink>(real_journal_writer(), kIdentifier);
    logger = std::make_shared<spdlog::logger>("uldd", std::move(sink));
  } else {
    // Not spdlog::stderr_color_mt(): it throws when called twice.
    logger = std::make_shared<spdlog::logger>(
        "uldd", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->set_pattern(kTextPattern);
  }
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(*parsed);
  return {};
}

Status set_log_level(std::string_view level) {
  auto parsed = parse_log_level(level);
  if (!parsed) return parsed.error();
  spdlog::set_level(*parsed);
  return {};
}

}  // namespace uldd::supervisor::logging
