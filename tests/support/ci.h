#pragma once
// Whether the suite runs under CI, and what a test does when an input it needs
// is missing: on a user's fresh clone it skips with the reason; under CI
// (CI set to any non-empty value: CI=true, CI=1) nothing may drop out, so it
// fails with the reason instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace rs::test {

inline bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0';
}

// True when `path` exists; otherwise false, and a failure when CI is set, since CI must have ../shared.
inline bool shared_file_present(const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) return true;
  if (under_ci()) ADD_FAILURE() << path << " is missing, and CI must have ../shared";
  return false;
}

}  // namespace rs::test

// Ends the test for want of `reason` (a missing file, tool or limit): a skip, or a failure under CI.
#define RS_SKIP_UNLESS_CI(reason)                                     \
  do {                                                                \
    if (::rs::test::under_ci()) {                                     \
      FAIL() << (reason) << " (under CI nothing may skip)";           \
    } else {                                                          \
      GTEST_SKIP() << (reason);                                       \
    }                                                                 \
  } while (0)
