// CallResult<T>: the outcome of one D-Bus call made by ulddctl — a value, or
// the D-Bus error the call ended with, kept by NAME.
//
// Why not uldd::Result<T>: its Error carries an errno, and ulddctl's exit
// status is decided by the D-Bus error name (exit_code.h). sd-bus folds
// several names into one errno (UnknownObject and NameHasNoOwner are both
// ENXIO; a missing bus socket is ENOENT like NoSuchDevice), so an errno
// cannot tell "no such device" from "daemon not running". Failures that
// happen before any message is exchanged (no bus) get a name of ours from
// kErrorNoBus below, so every failure has exactly one name.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace uldd::ctl {

// Not a D-Bus name: the bus itself could not be reached (socket missing,
// connection refused, authentication failed).
inline constexpr const char* kErrorNoBus = "uldd.ulddctl.Error.NoBus";

struct CallError {
  std::string name;     // D-Bus error name, e.g. "org.uldd.Supervisor1.Error.NoSuchDevice"
  std::string message;  // the error's message as the peer (or sd-bus) wrote it
};

template <class T>
class [[nodiscard]] CallResult {
 public:
  CallResult(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  CallResult(CallError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const CallError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, CallError> v_;
};

// A call with no return value.
struct Done {};
using CallStatus = CallResult<Done>;

}  // namespace uldd::ctl
