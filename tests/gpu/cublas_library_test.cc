// cuBLAS, opened on first use: every function gpu/ calls is found in the
// version built against. Needs the library, not a device.
#include "gpu/cublas_library.h"

#include <gtest/gtest.h>

#include <string_view>

namespace rs::gpu {
namespace {

TEST(CublasLibrary, OpensTheVersionBuiltAgainstWithEveryFunction) {
  const CublasLibrary& library = cublas();
  EXPECT_NE(library.create, nullptr);
  EXPECT_NE(library.destroy, nullptr);
  EXPECT_NE(library.set_stream, nullptr);
  EXPECT_NE(library.set_workspace, nullptr);
  EXPECT_NE(library.set_math_mode, nullptr);
  EXPECT_NE(library.gemm_ex, nullptr);
  ASSERT_NE(library.status_string, nullptr);
  EXPECT_EQ(std::string_view(library.status_string(CUBLAS_STATUS_NOT_INITIALIZED)), "the library was not initialized");
  EXPECT_EQ(&cublas(), &library);  // opened once
}

}  // namespace
}  // namespace rs::gpu
