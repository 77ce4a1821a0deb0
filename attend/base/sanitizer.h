#pragma once
// ATTEND_ASAN is defined when the build runs under AddressSanitizer (GCC or Clang).
#if defined(__SANITIZE_ADDRESS__)
#define ATTEND_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTEND_ASAN 1
#endif
#endif
