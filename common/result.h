// Result<T>: the one error model of uldd's low layers (OS boundary, ABI, UIO,
// drivers, device models, shim). A C error code is converted into an Error once,
// at the boundary where the call is made, together with a message naming what
// failed and where; callers above only pass Errors along or handle them.
// Exceptions are not used in these layers.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace uldd {

struct Error {
  int code = 0;         // errno value, or 0 when the failure is not an OS error
  std::string message;  // what failed and where, e.g. "mmap(ring region 'disk0'): ..."

  std::string describe() const {
    if (code == 0) return message;
    return message + ": " + std::strerror(code);
  }
};

// Builds an Error from the current errno; call right after the failed syscall.
inline Error errno_error(std::string what) { return Error{errno, std::move(what)}; }
inline Error plain_error(std::string what) { return Error{0, std::move(what)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace uldd

// Propagates an error from an expression of type Result<...> or Status.
#define ULDD_TRY(expr)                              \
  do {                                              \
    auto uldd_try_result_ = (expr);                 \
    if (!uldd_try_result_.ok()) return uldd_try_result_.error(); \
  } while (0)
