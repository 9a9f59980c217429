// Status / Result<T>: the error tier for user-facing failures (bad files, devices, requests).
// Programmer errors use BITNET_CHECK (check.h) instead. Messages are meant to be shown to users
// as one line, so they say what failed and what to do about it.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bitnet {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad request / flag / shape
  kNotFound,         // missing file, key, tensor, device
  kCorrupt,          // malformed file contents
  kUnsupported,      // valid input we do not handle (unknown arch, type)
  kOutOfRange,       // e.g. prompt longer than context
  kIo,               // OS-level failure
  kUnavailable,      // device or backend not present / not usable
  kInternal,
};

const char* status_code_name(StatusCode c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "kind: message", for one-line error output.
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Helpers so call sites read like the error they report.
inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIo, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

// A value or an error Status. Accessing value() of an error is a programmer bug (aborts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { check_error(); }  // NOLINT

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { must_ok(); return std::get<0>(v_); }
  const T& value() const& { must_ok(); return std::get<0>(v_); }
  T&& value() && { must_ok(); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void must_ok() const {
    if (!is_ok()) {
      std::fprintf(stderr, "bitnet: fatal: value() on error Result: %s\n",
                   std::get<1>(v_).to_string().c_str());
      std::abort();
    }
  }
  void check_error() const {
    if (std::get<1>(v_).is_ok()) {
      std::fprintf(stderr, "bitnet: fatal: Result constructed from an OK Status\n");
      std::abort();
    }
  }
  std::variant<T, Status> v_;
};

}  // namespace bitnet

// Propagate an error Status from an expression returning Status.
#define BITNET_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::bitnet::Status bitnet_st_ = (expr);       \
    if (!bitnet_st_.is_ok()) return bitnet_st_; \
  } while (0)

#define BITNET_CONCAT_INNER_(a, b) a##b
#define BITNET_CONCAT_(a, b) BITNET_CONCAT_INNER_(a, b)
// `BITNET_ASSIGN_OR_RETURN(auto x, make_x());` declares x or returns the error.
#define BITNET_ASSIGN_OR_RETURN(lhs, expr) \
  BITNET_ASSIGN_OR_RETURN_IMPL_(BITNET_CONCAT_(bitnet_r_, __COUNTER__), lhs, expr)
#define BITNET_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.is_ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
