// Result<T>: the value or the error of a call that crosses a module boundary.
//
// Shaped like C++23 std::expected<T, Error> (GCC 12 has no <expected>). An Error is a code a
// program can branch on plus one line a person can read; it never carries a stack of causes.
// Exceptions thrown by SQLite wrappers, cereal, Boost or nlohmann-json are caught in the one
// adapter that wraps each library and become an Error there; they never cross a module boundary.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace jr {

enum class ErrorCode {
  Usage,         // the user asked for something malformed (exit 2)
  NotFound,      // no such job, task or file
  Conflict,      // the state holds something else, or another engine owns it
  Illegal,       // a state transition the state machine does not allow
  Io,            // the operating system refused (permissions, disk, fork)
  Corrupt,       // a file is not what it claims to be
  Unsupported,   // a newer schema or protocol than this build knows
  Unavailable,   // no daemon answered
  Internal,
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace jr

// Return the error of `expr` from the enclosing function if it failed.
#define JR_TRY(expr)                              \
  do {                                            \
    auto jr_try_result_ = (expr);                 \
    if (!jr_try_result_.ok()) return jr_try_result_.error(); \
  } while (0)
