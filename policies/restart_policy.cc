// Names of the policy enums as they are written in TOML files and log lines.
// The parser reads the same spellings (policy_parser.cc matches against these
// functions), so a policy printed in a log can be pasted back into a file.
#include "policies/restart_policy.h"

namespace uldd::policies {

std::string_view to_string(RestartMode mode) {
  switch (mode) {
    case RestartMode::kAlways:
      return "always";
    case RestartMode::kOnFailure:
      return "on-failure";
    case RestartMode::kNever:
      return "never";
  }
  return "?";
}

std::string_view to_string(ExhaustedAction action) {
  switch (action) {
    case ExhaustedAction::kFailDevice:
      return "fail-device";
    case ExhaustedAction::kStopSupervisor:
      return "stop-supervisor";
    case ExhaustedAction::kRunHook:
      return "run-hook";
  }
  return "?";
}

std::string_view to_string(RecoveryMode mode) {
  switch (mode) {
    case RecoveryMode::kWarm:
      return "warm";
    case RecoveryMode::kCold:
      return "cold";
  }
  return "?";
}

std::string_view to_string(InflightAction action) {
  switch (action) {
    case InflightAction::kReissue:
      return "reissue";
    case InflightAction::kFail:
      return "fail";
  }
  return "?";
}

std::string_view to_string(TxInflightAction action) {
  switch (action) {
    case TxInflightAction::kReissue:
      return "reissue";
    case TxInflightAction::kDrop:
      return "drop";
  }
  return "?";
}

}  // namespace uldd::policies
