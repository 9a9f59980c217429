// BITNET_CHECK: the error tier for programmer bugs (broken invariants). It aborts with file:line;
// user-caused failures must return a Status instead (status.h).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace bitnet::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* expr, const char* msg) {
  std::fprintf(stderr, "bitnet: internal error at %s:%d: check `%s` failed%s%s\n", file, line, expr,
               msg[0] ? ": " : "", msg);
  std::abort();
}
}  // namespace bitnet::detail

#define BITNET_CHECK(cond)                                                           \
  do {                                                                               \
    if (!(cond)) ::bitnet::detail::check_failed(__FILE__, __LINE__, #cond, "");      \
  } while (0)

#define BITNET_CHECK_MSG(cond, msg)                                                  \
  do {                                                                               \
    if (!(cond)) ::bitnet::detail::check_failed(__FILE__, __LINE__, #cond, (msg));   \
  } while (0)
