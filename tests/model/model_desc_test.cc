#include "core/model/model_desc.h"

#include <gtest/gtest.h>

namespace rs::model {
namespace {

TEST(TensorType, BlockLayoutsMatchGgml) {
  EXPECT_EQ(tensor_bytes(TensorType::f32, 10), 40u);
  EXPECT_EQ(tensor_bytes(TensorType::bf16, 10), 20u);
  EXPECT_EQ(tensor_bytes(TensorType::q4_0, 64), 36u);
  EXPECT_EQ(tensor_bytes(TensorType::q8_0, 64), 68u);
  EXPECT_EQ(tensor_bytes(TensorType::q4_k, 256), 144u);
  EXPECT_EQ(tensor_bytes(TensorType::q5_k, 512), 352u);
  EXPECT_EQ(tensor_bytes(TensorType::q6_k, 256), 210u);
  EXPECT_FALSE(tensor_bytes(TensorType::q4_0, 33).has_value());
  EXPECT_FALSE(tensor_type_info(3).has_value());  // q4_1: not supported
  EXPECT_EQ(ggml_type_name(3), "q4_1");
  EXPECT_EQ(tensor_type_info(14)->name, "q6_K");
}

TEST(RopePermutation, MatchesLlamaCppConverter) {
  // One head of 8 rows (half = 4): HF order 0..7 becomes 0,4,1,5,2,6,3,7.
  std::vector<uint64_t> source;
  for (uint64_t r = 0; r < 8; ++r) source.push_back(rope_permuted_source_row(r, 8, 1));
  EXPECT_EQ(source, (std::vector<uint64_t>{0, 4, 1, 5, 2, 6, 3, 7}));
  // Two heads: each permuted within itself.
  EXPECT_EQ(rope_permuted_source_row(8, 16, 2), 8u);
  EXPECT_EQ(rope_permuted_source_row(9, 16, 2), 12u);
  EXPECT_EQ(rope_permuted_source_row(15, 16, 2), 15u);
}

TEST(Metadata, TypedAccessors) {
  Metadata m;
  m.push_back({"a.count", MetaValue{MetaType::u32, MetaType::u32, uint64_t{7}}});
  m.push_back({"a.eps", MetaValue{MetaType::f32, MetaType::u32, 1e-5}});
  m.push_back({"a.name", MetaValue{MetaType::string, MetaType::u32, std::string("x")}});
  EXPECT_EQ(find(m, "a.count")->as_uint(), 7u);
  EXPECT_EQ(find(m, "a.count")->as_int(), 7);
  EXPECT_DOUBLE_EQ(*find(m, "a.eps")->as_float(), 1e-5);
  EXPECT_EQ(*find(m, "a.name")->as_string(), "x");
  EXPECT_EQ(find(m, "a.name")->as_uint(), std::nullopt);
  EXPECT_EQ(find(m, "missing"), nullptr);
}

}  // namespace
}  // namespace rs::model
