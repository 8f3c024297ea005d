// Units in policy files: durations ("250ms", "2s", "1m"), sizes ("256MiB") and
// CPU shares ("50%"). Policy files are written by people under pressure, so a
// bare number is never guessed at: "250" could be milliseconds or seconds, and
// the wrong guess is a driver restarted 1000 times too slowly. Each parser
// returns the value or, in `why`, the end of a sentence that starts with the
// quoted text ("\"2x\" has unknown unit 'x' ...").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uldd::policies {

// "<digits><unit>", unit one of ms, s, m, h (no space, no fraction: "1500ms",
// not "1.5s"). Overflow past a day's worth of years is refused.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why);

// The shortest exact spelling: 1500ms -> "1500ms", 2000ms -> "2s", 60000ms -> "1m".
std::string format_duration(std::chrono::milliseconds d);

// "<digits>[ ]<unit>" with a binary unit B, KiB, MiB, GiB, TiB. "MB" is refused
// rather than guessed at (10^6 and 2^20 both have their believers).
std::optional<uint64_t> parse_size(std::string_view text, std::string* why);

// "<digits>%" -> the number (no range check here).
std::optional<uint32_t> parse_percent(std::string_view text, std::string* why);

}  // namespace uldd::policies
