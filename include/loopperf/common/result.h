// One error vocabulary for every stage. Stages return Result<T>; exceptions never cross a stage
// boundary; only main() turns an Error into a message and an exit status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace loopperf {

// Exit statuses are part of the CLI contract (docs/record.md); keep the numbers stable.
enum class ErrorCode : int {
  kUsage = 2,           // bad command line
  kNoProcess = 3,       // the pid does not exist / exited before attach
  kPermission = 4,      // perf_event_open / ptrace / file permission denied
  kOutput = 5,          // output not writable, disk full
  kInput = 6,           // unreadable or malformed input file
  kResource = 7,        // out of fds, memory, mmap
  kLaunch = 8,          // launch mode: command could not be executed
  kInternal = 70,       // a bug in loopperf
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // what went wrong
  std::string hint;     // what to do about it (names the sysctl, capability, flag ...)
};

inline Error make_error(ErrorCode code, std::string message, std::string hint = {}) {
  return Error{code, std::move(message), std::move(hint)};
}

template <typename T>
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
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace loopperf
