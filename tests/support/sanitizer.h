// Whether this file is compiled with AddressSanitizer: gcc defines __SANITIZE_ADDRESS__, clang
// (before 17) only answers __has_feature(address_sanitizer). Tests whose figures mean something
// else under ASan (memory bounds, sizes) read CJD_UNDER_ASAN.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define CJD_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CJD_UNDER_ASAN 1
#endif
#endif
#ifndef CJD_UNDER_ASAN
#define CJD_UNDER_ASAN 0
#endif
