// Small string helpers (printf-style formatting without a dependency on fmt).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

namespace bitnet {

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
inline std::string strfmt(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string s;
  if (n > 0) {
    s.resize(static_cast<size_t>(n));
    std::vsnprintf(s.data(), s.size() + 1, fmt, ap2);
  }
  va_end(ap2);
  return s;
}

}  // namespace bitnet
