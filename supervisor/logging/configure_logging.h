// configure_logging: where the supervisor's log goes and how much of it.
// Under systemd with the journal on stdout or stderr (JOURNAL_STREAM matches
// fd 1 or 2, see journal_stream.h) every message becomes a structured
// journal entry (journal_sink.h: PRIORITY=, DEVICE=, DRIVER_PID=, EVENT=,
// DOWNTIME_US=, ...); otherwise it is a readable line on stderr:
//   2025-01-31 12:00:00.123 info  disk0: up: ...
// The level can change at any time (D-Bus SetLogLevel, SIGHUP re-reading the
// config) through set_log_level(); spdlog applies it to every logger.
#pragma once

#include <spdlog/common.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace uldd::supervisor::logging {

enum class LogTarget { kJournal, kStderrText };

// Level names as the config, --log-level and D-Bus use them: trace, debug,
// info, warn, error, critical, off (also spdlog's "warning" and "err").
Result<spdlog::level::level_enum> parse_log_level(std::string_view name);
// The current level's name in the same vocabulary ("warn", not "warning").
std::string log_level_name();

// The journal if JOURNAL_STREAM (the variable's value, nullptr = unset)
// names fd 2 or fd 1, else text on stderr.
LogTarget choose_log_target(const char* journal_stream);

// Installs the default logger for choose_log_target(getenv("JOURNAL_STREAM"))
// and sets the level; a bad level name is an error and changes nothing.
Status configure_logging(std::string_view level);
// Changes the level at run time.
Status set_log_level(std::string_view level);

}  // namespace uldd::supervisor::logging
