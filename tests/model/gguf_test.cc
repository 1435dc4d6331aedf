#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>

#include "core/model/gguf_describe.h"
#include "core/model/gguf_reader.h"
#include "core/model/gguf_writer.h"
#include "tests/support/ci.h"
#include "tests/support/meta_values.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const fs::path kShared = fs::path(RINGSERVE_SOURCE_DIR) / ".." / "shared";

using rs::test::array_of;
using rs::test::f32;
using rs::test::text;
using rs::test::u32;
using rs::test::shared_file_present;
using rs::test::value_of;

// Type, stored alternative and value, recursively: equal texts mean equal values.
std::string to_text(const MetaValue& v) {
  std::string out = fmt::format("{}#{}", meta_type_name(v.type), v.value.index());
  if (const MetaArray* elements = v.as_array()) {
    out += fmt::format("<{}>[", meta_type_name(v.element_type));
    for (const MetaValue& element : *elements) out += to_text(element) + ", ";
    return out + "]";
  }
  if (const std::string* s = v.as_string()) return out + fmt::format(":\"{}\"", *s);
  if (const auto* d = std::get_if<double>(&v.value)) return out + fmt::format(":{}", *d);
  if (const auto* i = std::get_if<int64_t>(&v.value)) return out + fmt::format(":{}", *i);
  if (const auto* u = std::get_if<uint64_t>(&v.value)) return out + fmt::format(":{}", *u);
  return out + fmt::format(":{}", *v.as_bool());
}

std::string to_text(const Metadata& metadata) {
  std::string out;
  for (const auto& [key, value] : metadata) out += key + " = " + to_text(value) + "\n";
  return out;
}

// The k-th (0..2) sample of a scalar type or string, extremes included.
MetaValue sample(MetaType type, int k) {
  const uint64_t bytes = gguf_min_value_bytes(type);
  const uint64_t max_unsigned =
      bytes == 8 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << (8 * bytes)) - 1;
  const int64_t max_signed = static_cast<int64_t>(max_unsigned >> 1);
  switch (type) {
    case MetaType::u8:
    case MetaType::u16:
    case MetaType::u32:
    case MetaType::u64: return value_of(type, std::array<uint64_t, 3>{max_unsigned, 0, 1}[k]);
    case MetaType::i8:
    case MetaType::i16:
    case MetaType::i32:
    case MetaType::i64: return value_of(type, std::array<int64_t, 3>{-max_signed - 1, -1, max_signed}[k]);
    case MetaType::f32: return value_of(type, std::array<double, 3>{0.15625, -2.5, double{1e30f}}[k]);
    case MetaType::f64: return value_of(type, std::array<double, 3>{0.1, -1e300, 5e-324}[k]);
    case MetaType::boolean: return value_of(type, k != 1);
    default: return text(std::array<std::string, 3>{"", "plain", "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c"}[k]);
  }
}

constexpr MetaType kScalarTypes[] = {MetaType::u8,  MetaType::i8,  MetaType::u16, MetaType::i16,
                                     MetaType::u32, MetaType::i32, MetaType::f32, MetaType::boolean,
                                     MetaType::u64, MetaType::i64, MetaType::f64, MetaType::string};

Metadata every_type_metadata() {
  Metadata metadata;
  for (const MetaType type : kScalarTypes) {
    const std::string_view name = meta_type_name(type);
    for (int k = 0; k < 3; ++k) metadata.emplace_back(fmt::format("scalar.{}.{}", name, k), sample(type, k));
    metadata.emplace_back(fmt::format("array.{}", name),
                          array_of(type, {sample(type, 0), sample(type, 1), sample(type, 2)}));
  }
  metadata.emplace_back("array.empty", array_of(MetaType::u32, {}));
  metadata.emplace_back("array.of_arrays",
                        array_of(MetaType::array, {array_of(MetaType::u32, {u32(1), u32(2)}),
                                                   array_of(MetaType::string, {text("x")}),
                                                   array_of(MetaType::array, {array_of(MetaType::i8, {})})}));
  return metadata;
}

struct TensorSpec {
  std::string name;
  TensorType type;
  std::vector<uint64_t> shape;
};

// One tensor of every supported type; `big` spans two of the writer's 1 MiB chunks.
const std::vector<TensorSpec> kEveryTypeTensors = {
    {"f32", TensorType::f32, {8, 3}},    {"f16", TensorType::f16, {16}},
    {"bf16", TensorType::bf16, {4, 4}},  {"q8_0", TensorType::q8_0, {64}},
    {"q4_0", TensorType::q4_0, {32, 2}}, {"q4_K", TensorType::q4_k, {256}},
    {"q5_K", TensorType::q5_k, {512}},   {"q6_K", TensorType::q6_k, {256, 2}},
    {"big", TensorType::f32, {300000}},
};

uint8_t pattern(size_t tensor, uint64_t offset) {
  return static_cast<uint8_t>(offset * 131 + offset / 251 + tensor * 17);
}

std::vector<GgufTensorOut> patterned(const std::vector<TensorSpec>& specs) {
  std::vector<GgufTensorOut> tensors;
  for (size_t t = 0; t < specs.size(); ++t) {
    tensors.push_back(
        {specs[t].name, specs[t].type, specs[t].shape, [t](uint64_t offset, std::span<uint8_t> chunk) {
           for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = pattern(t, offset + i);
         }});
  }
  return tensors;
}

Bytes file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void put_le(Bytes& bytes, size_t offset, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) bytes.at(offset + i) = static_cast<uint8_t>(value >> (8 * i));
}

size_t offset_of(const Bytes& bytes, std::string_view needle) {
  const auto found = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  EXPECT_NE(found, bytes.end()) << needle;
  return static_cast<size_t>(found - bytes.begin());
}

// The message of the ModelError that `action` throws, or "" when it throws none.
std::string model_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

std::string parse_error(const Bytes& bytes, std::string_view name) {
  return model_error([&] { parse_gguf(bytes, name); });
}

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("ringserve-gguf-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(std::string_view name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(GgufTest, RoundTripsEveryMetadataTypeAndTensorType) {
  const Metadata metadata = every_type_metadata();
  for (const uint64_t alignment : {uint64_t{32}, uint64_t{4096}}) {
    SCOPED_TRACE(alignment);
    const std::string file = path(fmt::format("every_type_{}.gguf", alignment));
    write_gguf(file, metadata, patterned(kEveryTypeTensors), alignment);
    const GgufFile gguf = read_gguf(file);

    Metadata expected = metadata;
    if (alignment != kGgufDefaultAlignment) expected.emplace_back(kGgufAlignmentKey, u32(alignment));
    EXPECT_EQ(to_text(gguf.metadata), to_text(expected));
    EXPECT_EQ(gguf.version, 3u);
    EXPECT_EQ(gguf.alignment, alignment);
    EXPECT_EQ(gguf.data_offset % alignment, 0u);
    EXPECT_EQ(gguf.file_size % alignment, 0u);

    const Bytes bytes = file_bytes(file);
    ASSERT_EQ(gguf.file_size, bytes.size());
    ASSERT_EQ(gguf.tensors.size(), kEveryTypeTensors.size());
    for (size_t t = 0; t < kEveryTypeTensors.size(); ++t) {
      const TensorInfo& tensor = gguf.tensors[t];
      const TensorSpec& spec = kEveryTypeTensors[t];
      SCOPED_TRACE(spec.name);
      EXPECT_EQ(tensor.name, spec.name);
      EXPECT_EQ(tensor.type, spec.type);
      EXPECT_EQ(tensor.shape, spec.shape);
      EXPECT_EQ(tensor.file, 0u);
      EXPECT_EQ(tensor.offset % alignment, 0u);
      EXPECT_EQ(tensor.bytes, tensor_bytes(spec.type, tensor.elements()));
      ASSERT_LE(tensor.offset + tensor.bytes, bytes.size());
      uint64_t mismatches = 0;
      for (uint64_t i = 0; i < tensor.bytes; ++i) mismatches += bytes[tensor.offset + i] != pattern(t, i);
      EXPECT_EQ(mismatches, 0u);
    }
  }
}

TEST_F(GgufTest, WritesTheSameBytesForTheSameInput) {
  write_gguf(path("a.gguf"), every_type_metadata(), patterned(kEveryTypeTensors), 64);
  write_gguf(path("b.gguf"), every_type_metadata(), patterned(kEveryTypeTensors), 64);
  EXPECT_EQ(file_bytes(path("a.gguf")), file_bytes(path("b.gguf")));
}

TEST_F(GgufTest, ReplacesAGivenAlignmentKeyInPlace) {
  const Metadata metadata = {{"a", u32(1)}, {std::string(kGgufAlignmentKey), u32(64)}, {"b", u32(2)}};
  write_gguf(path("m.gguf"), metadata, patterned({{"t", TensorType::f32, {8}}}), 128);
  const GgufFile gguf = read_gguf(path("m.gguf"));
  EXPECT_EQ(to_text(gguf.metadata),
            to_text({{"a", u32(1)}, {std::string(kGgufAlignmentKey), u32(128)}, {"b", u32(2)}}));
  EXPECT_EQ(gguf.alignment, 128u);
}

TEST_F(GgufTest, ReadsVersion2AndRejectsOtherVersions) {
  write_gguf(path("v.gguf"), every_type_metadata(), patterned({{"t", TensorType::q8_0, {32, 2}}}));
  Bytes bytes = file_bytes(path("v.gguf"));
  const GgufFile v3 = parse_gguf(bytes, "v.gguf");
  put_le(bytes, 4, 2, 4);
  const GgufFile v2 = parse_gguf(bytes, "v.gguf");
  EXPECT_EQ(v2.version, 2u);
  EXPECT_EQ(to_text(v2.metadata), to_text(v3.metadata));
  ASSERT_EQ(v2.tensors.size(), 1u);
  EXPECT_EQ(v2.tensors[0].offset, v3.tensors[0].offset);
  put_le(bytes, 4, 1, 4);
  EXPECT_EQ(parse_error(bytes, "v.gguf"), "v.gguf: GGUF version 1 is not supported (only versions 2 and 3)");
}

TEST_F(GgufTest, NamesAnUnsupportedTensorType) {
  write_gguf(path("q.gguf"), {}, patterned({{"blk.0.attn_q.weight", TensorType::f32, {32}}}));
  Bytes bytes = file_bytes(path("q.gguf"));
  const size_t name = offset_of(bytes, "blk.0.attn_q.weight");
  put_le(bytes, name + 19 + 4 + 8, 3, 4);  // after the name, n_dims and the dim: the type
  EXPECT_EQ(parse_error(bytes, "q.gguf"),
            "q.gguf: unsupported tensor type q4_1 in tensor blk.0.attn_q.weight");
}

// A file small enough to damage field by field: two keys, the alignment key, and
// one tensor that ends the file.
Bytes small_file(const std::string& file) {
  const Metadata metadata = {{"a.text", text("hello")},
                             {"a.list", array_of(MetaType::u32, {u32(1), u32(2), u32(3)})}};
  write_gguf(file, metadata, patterned({{"tensor.x", TensorType::f32, {16}}}), 64);
  return file_bytes(file);
}

struct Damage {
  std::string field;
  size_t offset;
  size_t width;
  uint64_t value;
  std::string message;  // what the error says after "c.gguf: "
};

TEST_F(GgufTest, NamesTheDamagedField) {
  const Bytes original = small_file(path("c.gguf"));
  ASSERT_EQ(parse_error(original, "c.gguf"), "");
  const size_t text_key = offset_of(original, "a.text");
  const size_t list_key = offset_of(original, "a.list");
  const size_t alignment = offset_of(original, kGgufAlignmentKey) + kGgufAlignmentKey.size() + 4;
  const size_t name = offset_of(original, "tensor.x");
  const uint64_t huge = uint64_t{1} << 40;
  const uint64_t all_ones = std::numeric_limits<uint64_t>::max();
  const std::vector<Damage> damages = {
      {"magic", 0, 4, 0x04034b50, "not a GGUF file (magic is \"PK\\x03\\x04\")"},
      {"version", 4, 4, 1, "GGUF version 1 is not supported"},
      {"tensor count", 8, 8, huge, "tensor count 1099511627776 exceeds what the"},
      {"key count", 16, 8, huge, "metadata key count 1099511627776 exceeds what the"},
      {"key length", text_key - 8, 8, huge, "metadata key 0: key length 1099511627776 exceeds the"},
      {"value type", text_key + 6, 4, 99, "metadata key 0 (\"a.text\"): value type 99 is not a GGUF type"},
      {"string length", text_key + 10, 8, huge,
       "metadata key 0 (\"a.text\"): string length 1099511627776 exceeds"},
      {"array element type", list_key + 10, 4, 13,
       "metadata key 1 (\"a.list\"): array element type 13 is not"},
      {"array length", list_key + 14, 8, all_ones,
       "metadata key 1 (\"a.list\"): array length 18446744073709551615 of u32 exceeds the"},
      {"alignment 0", alignment, 4, 0,
       "metadata key 2 (\"general.alignment\"): alignment 0 is not a power of two"},
      {"alignment 3", alignment, 4, 3,
       "metadata key 2 (\"general.alignment\"): alignment 3 is not a power of two"},
      {"name length", name - 8, 8, huge, "tensor 0: name length 1099511627776 exceeds the"},
      {"n_dims", name + 8, 4, 5, "tensor 0 (\"tensor.x\"): n_dims 5 is not in 1..4"},
      {"dim 0", name + 12, 8, 0, "tensor 0 (\"tensor.x\"): dim 0 is 0"},
      {"dim huge", name + 12, 8, huge,
       "tensor 0 (\"tensor.x\"): 1099511627776 elements of f32 need more than"},
      {"tensor type", name + 20, 4, 3, "unsupported tensor type q4_1 in tensor tensor.x"},
      {"tensor type unknown", name + 20, 4, 1000, "unsupported tensor type 1000 in tensor tensor.x"},
      {"offset unaligned", name + 24, 8, 4,
       "tensor 0 (\"tensor.x\"): offset 4 is not a multiple of the alignment 64"},
      {"offset past the end", name + 24, 8, huge,
       "tensor 0 (\"tensor.x\"): offset 1099511627776 is past the end"},
      {"data past the end", name + 24, 8, 64, "tensor 0 (\"tensor.x\"): data ends at byte"},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.field);
    Bytes bytes = original;
    put_le(bytes, damage.offset, damage.value, damage.width);
    const std::string error = parse_error(bytes, "c.gguf");
    EXPECT_TRUE(error.starts_with("c.gguf: " + damage.message)) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST_F(GgufTest, EveryTruncationIsAnError) {
  const Bytes original = small_file(path("c.gguf"));
  ASSERT_LT(original.size(), 1024u);
  for (size_t size = 0; size < original.size(); ++size) {
    const std::string error = parse_error(Bytes(original.begin(), original.begin() + size), "c.gguf");
    EXPECT_TRUE(error.starts_with("c.gguf: ")) << size << ": " << error;
  }
  const size_t n_dims = offset_of(original, "tensor.x") + 8;
  EXPECT_EQ(
      parse_error(Bytes(original.begin(), original.begin() + n_dims + 2), "c.gguf"),
      fmt::format("c.gguf: truncated in tensor 0 (\"tensor.x\"): 4 bytes needed at byte {}, 2 left", n_dims));
}

TEST_F(GgufTest, RejectsDuplicateAndOverlappingTensors) {
  write_gguf(path("d.gguf"), {}, patterned({{"ta", TensorType::f32, {8}}, {"tb", TensorType::f32, {8}}}));
  const Bytes original = file_bytes(path("d.gguf"));
  Bytes duplicate = original;
  duplicate[offset_of(duplicate, "tb") + 1] = 'a';
  EXPECT_EQ(parse_error(duplicate, "d.gguf"), "d.gguf: tensor 1 (\"ta\"): the name appears twice");
  Bytes overlapping = original;
  put_le(overlapping, offset_of(overlapping, "tb") + 2 + 4 + 8 + 4, 0, 8);
  EXPECT_EQ(parse_error(overlapping, "d.gguf"),
            "d.gguf: tensor 1 (\"tb\"): data overlaps that of tensor 0 (\"ta\")");
}

TEST_F(GgufTest, BoundsArrayNesting) {
  const auto nested = [](int depth) {
    MetaValue value = array_of(MetaType::u8, {});
    for (int d = 1; d < depth; ++d) value = array_of(MetaType::array, {value});
    return Metadata{{"deep", value}};
  };
  write_gguf(path("8.gguf"), nested(8), {});
  EXPECT_EQ(to_text(read_gguf(path("8.gguf")).metadata), to_text(nested(8)));
  write_gguf(path("9.gguf"), nested(9), {});
  EXPECT_EQ(parse_error(file_bytes(path("9.gguf")), "9.gguf"),
            "9.gguf: metadata key 0 (\"deep\"): arrays nested deeper than 8");
}

TEST_F(GgufTest, EscapesNamesInErrors) {
  write_gguf(path("e.gguf"), {{"bad\nkey\"", text("x")}}, {});
  Bytes bytes = file_bytes(path("e.gguf"));
  put_le(bytes, offset_of(bytes, "bad\nkey\"") + 8, 99, 4);
  EXPECT_EQ(parse_error(bytes, "e.gguf"),
            R"(e.gguf: metadata key 0 ("bad\nkey\""): value type 99 is not a GGUF type)");
}

TEST_F(GgufTest, ReaderErrorsNameTheFile) {
  EXPECT_EQ(model_error([&] { read_gguf(path("absent.gguf")); }),
            path("absent.gguf") + ": cannot open: No such file or directory");
  EXPECT_EQ(model_error([&] { read_gguf(dir_.string()); }), dir_.string() + ": not a regular file");
}

TEST_F(GgufTest, WriterRejectsBadInputNamingIt) {
  const auto write_error = [&](const Metadata& metadata, const std::vector<GgufTensorOut>& tensors,
                               uint64_t alignment = 32) {
    return model_error([&] { write_gguf(path("w.gguf"), metadata, tensors, alignment); });
  };
  const std::string file = path("w.gguf");
  EXPECT_EQ(write_error({}, {}, 48), file + ": alignment 48 is not a power of two up to 2^31");
  EXPECT_EQ(write_error({{"k", value_of(MetaType::u8, uint64_t{256})}}, {}),
            file + ": metadata key \"k\": the value does not fit type u8");
  EXPECT_EQ(write_error({{"k", value_of(MetaType::i16, int64_t{-32769})}}, {}),
            file + ": metadata key \"k\": the value does not fit type i16");
  EXPECT_EQ(write_error({{"k", value_of(MetaType::u32, std::string("7"))}}, {}),
            file + ": metadata key \"k\": the value does not hold type u32");
  EXPECT_EQ(write_error({{"k", u32(1)}, {"k", u32(2)}}, {}), file + ": metadata key \"k\" appears twice");
  EXPECT_EQ(write_error({{"k", array_of(MetaType::u32, {text("x")})}}, {}),
            file + ": metadata key \"k\": array element 0 is a string in an array of u32");
  EXPECT_EQ(write_error({}, patterned({{"t", TensorType::q4_0, {33}}})),
            file + ": tensor \"t\": 33 elements are not a whole number of q4_0 blocks");
  EXPECT_EQ(write_error({}, patterned({{"t", TensorType::f32, {1}}, {"t", TensorType::f32, {1}}})),
            file + ": tensor \"t\": the name appears twice");
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(fs::directory_iterator(dir_), fs::directory_iterator());  // no PATH.tmp left behind

  const std::string in_missing_dir = path("no/such/dir.gguf");
  EXPECT_EQ(model_error([&] { write_gguf(in_missing_dir, {}, {}); }),
            in_missing_dir + ".tmp." + std::to_string(getpid()) + ": cannot create: No such file or directory");
}

TEST_F(GgufTest, AFailingFillLeavesNoFile) {
  std::vector<GgufTensorOut> tensors = patterned({{"t", TensorType::f32, {8}}});
  tensors[0].fill = [](uint64_t, std::span<uint8_t>) { throw std::runtime_error("source vanished"); };
  EXPECT_THROW(write_gguf(path("f.gguf"), {}, tensors), std::runtime_error);
  EXPECT_EQ(fs::directory_iterator(dir_), fs::directory_iterator());
}

// A two-layer model small enough to spell out: embedding 8, 2 heads of 4, 1 kv head, ffn 16, vocab 10.
GgufFile tiny_model(const std::string& architecture) {
  GgufFile gguf;
  const auto key = [&](std::string_view suffix) { return fmt::format("{}.{}", architecture, suffix); };
  gguf.metadata = {{"general.architecture", text(architecture)},
                   {key("embedding_length"), u32(8)},
                   {key("block_count"), u32(2)},
                   {key("attention.head_count"), u32(2)},
                   {key("attention.head_count_kv"), u32(1)},
                   {key("feed_forward_length"), u32(16)},
                   {key("context_length"), u32(256)},
                   {key("attention.layer_norm_rms_epsilon"), f32(1e-6)},
                   {key("vocab_size"), u32(10)}};
  const auto add = [&](std::string name, std::vector<uint64_t> shape) {
    gguf.tensors.push_back({.name = std::move(name), .shape = std::move(shape)});
  };
  add("token_embd.weight", {8, 10});
  add("output_norm.weight", {8});
  for (int b = 0; b < 2; ++b) {
    const auto blk = [&](std::string_view part) { return fmt::format("blk.{}.{}", b, part); };
    add(blk("attn_norm.weight"), {8});
    add(blk("attn_q.weight"), {8, 8});
    add(blk("attn_k.weight"), {8, 4});
    add(blk("attn_v.weight"), {8, 4});
    add(blk("attn_output.weight"), {8, 8});
    add(blk("ffn_norm.weight"), {8});
    add(blk("ffn_gate.weight"), {8, 16});
    add(blk("ffn_up.weight"), {8, 16});
    add(blk("ffn_down.weight"), {16, 8});
  }
  return gguf;
}

std::string describe_error(const GgufFile& gguf) {
  return model_error([&] { describe_gguf(gguf, "/models/tiny.gguf"); });
}

TEST(GgufDescribe, ReadsALlamaModel) {
  const ModelDesc desc = describe_gguf(tiny_model("llama"), "/models/tiny.gguf");
  EXPECT_EQ(desc.architecture, "llama");
  EXPECT_EQ(desc.name, "tiny");
  EXPECT_EQ(desc.files, std::vector<std::string>{"/models/tiny.gguf"});
  EXPECT_EQ(desc.vocab_size, 10u);
  EXPECT_EQ(desc.embedding_dim, 8u);
  EXPECT_EQ(desc.n_layers, 2u);
  EXPECT_EQ(desc.n_heads, 2u);
  EXPECT_EQ(desc.n_kv_heads, 1u);
  EXPECT_EQ(desc.head_dim, 4u);
  EXPECT_EQ(desc.ffn_dim, 16u);
  EXPECT_EQ(desc.context_length, 256u);
  EXPECT_FLOAT_EQ(desc.norm_eps, 1e-6f);
  EXPECT_EQ(desc.rope_layout, RopeLayout::adjacent_pairs);
  EXPECT_EQ(desc.rope_freq_base, 10000.0f);
  EXPECT_EQ(desc.rope_scaling, RopeScaling::none);
  EXPECT_TRUE(desc.tied_embeddings);
  EXPECT_FALSE(desc.qkv_bias);
  EXPECT_EQ(desc.tensors.size(), 20u);
}

TEST(GgufDescribe, ReadsAQwen2ModelWithBiasesAndRopeScaling) {
  GgufFile gguf = tiny_model("qwen2");
  gguf.metadata.emplace_back("general.name", text("Tiny Qwen"));
  gguf.metadata.emplace_back("qwen2.rope.freq_base", f32(1e6));
  gguf.metadata.emplace_back("qwen2.rope.scaling.type", text("linear"));
  gguf.metadata.emplace_back("qwen2.rope.scaling.factor", f32(4));
  gguf.tensors.push_back({.name = "output.weight", .shape = {8, 10}});
  for (int b = 0; b < 2; ++b) {
    gguf.tensors.push_back({.name = fmt::format("blk.{}.attn_q.bias", b), .shape = {8}});
    gguf.tensors.push_back({.name = fmt::format("blk.{}.attn_k.bias", b), .shape = {4}});
    gguf.tensors.push_back({.name = fmt::format("blk.{}.attn_v.bias", b), .shape = {4}});
  }
  const ModelDesc desc = describe_gguf(gguf, "/models/tiny.gguf");
  EXPECT_EQ(desc.name, "Tiny Qwen");
  EXPECT_EQ(desc.rope_layout, RopeLayout::halves);
  EXPECT_EQ(desc.rope_freq_base, 1e6f);
  EXPECT_EQ(desc.rope_scaling, RopeScaling::linear);
  EXPECT_EQ(desc.rope_scale_factor, 4.0f);
  EXPECT_FALSE(desc.tied_embeddings);
  EXPECT_TRUE(desc.qkv_bias);

  gguf.tensors.pop_back();
  EXPECT_EQ(describe_error(gguf), "/models/tiny.gguf: missing tensor blk.1.attn_v.bias (expected shape [4])");
}

TEST(GgufDescribe, ReadsLlama3RopeScaling) {
  GgufFile gguf = tiny_model("mistral");
  gguf.metadata.emplace_back("mistral.rope.scaling.type", text("llama3"));
  gguf.metadata.emplace_back("mistral.rope.scaling.factor", f32(8));
  gguf.metadata.emplace_back("mistral.rope.scaling.high_freq_factor", f32(2));
  gguf.metadata.emplace_back("mistral.rope.scaling.original_context_length", u32(4096));
  const ModelDesc desc = describe_gguf(gguf, "/models/tiny.gguf");
  EXPECT_EQ(desc.rope_scaling, RopeScaling::llama3);
  EXPECT_EQ(desc.rope_scale_factor, 8.0f);
  EXPECT_EQ(desc.rope_low_freq_factor, 1.0f);
  EXPECT_EQ(desc.rope_high_freq_factor, 2.0f);
  EXPECT_EQ(desc.rope_original_context, 4096u);
}

TEST(GgufDescribe, TakesTheVocabularySizeFromTokensOrTheEmbedding) {
  GgufFile gguf = tiny_model("llama");
  std::erase_if(gguf.metadata, [](const auto& kv) { return kv.first == "llama.vocab_size"; });
  EXPECT_EQ(describe_gguf(gguf, "tiny.gguf").vocab_size, 10u);  // token_embd.weight
  MetaArray tokens(10, text("t"));
  gguf.metadata.emplace_back("tokenizer.ggml.tokens", array_of(MetaType::string, tokens));
  EXPECT_EQ(describe_gguf(gguf, "tiny.gguf").vocab_size, 10u);
  tokens.pop_back();
  gguf.metadata.back().second = array_of(MetaType::string, tokens);
  EXPECT_EQ(describe_error(gguf),
            "/models/tiny.gguf: tensor token_embd.weight has shape [8, 10], expected [8, 9]");
}

TEST(GgufDescribe, NamesWhatIsWrong) {
  const auto with = [](const std::string& key, MetaValue value) {
    GgufFile gguf = tiny_model("llama");
    for (auto& [k, v] : gguf.metadata) {
      if (k == key) v = value;
    }
    return gguf;
  };
  const std::string file = "/models/tiny.gguf: ";
  EXPECT_EQ(describe_error(tiny_model("gpt2")),
            file + "architecture \"gpt2\" is not supported (llama, mistral or qwen2)");
  EXPECT_EQ(describe_error(tiny_model("x\ny")),
            file + R"(architecture "x\ny" is not supported (llama, mistral or qwen2))");
  GgufFile missing = tiny_model("llama");
  std::erase_if(missing.metadata, [](const auto& kv) { return kv.first == "llama.block_count"; });
  EXPECT_EQ(describe_error(missing), file + "missing metadata key llama.block_count");
  EXPECT_EQ(describe_error(with("llama.block_count", text("2"))),
            file + "metadata key llama.block_count: a string is not a positive 32-bit integer");
  // Found by the GGUF fuzz target: billions of layers were named one by one before any was missed.
  EXPECT_EQ(describe_error(with("llama.block_count", u32(4'000'000'000u))),
            file + "metadata key llama.block_count: 4000000000 layers, but the file holds only " +
                std::to_string(tiny_model("llama").tensors.size()) + " tensors");
  EXPECT_EQ(
      describe_error(with("llama.attention.head_count", u32(3))),
      file + "metadata key llama.attention.head_count: 3 heads do not divide llama.embedding_length (8)");
  EXPECT_EQ(describe_error(with("llama.attention.head_count_kv", u32(3))),
            file + "metadata key llama.attention.head_count_kv: 3 kv heads do not divide 2 heads");
  EXPECT_EQ(describe_error(with("llama.attention.layer_norm_rms_epsilon", f32(0))),
            file + "metadata key llama.attention.layer_norm_rms_epsilon: 0 is not a positive number");

  GgufFile misshaped = tiny_model("llama");
  misshaped.tensors.back().shape = {8, 16};
  EXPECT_EQ(describe_error(misshaped),
            file + "tensor blk.1.ffn_down.weight has shape [8, 16], expected [16, 8]");
  GgufFile absent = tiny_model("llama");
  std::erase_if(absent.tensors, [](const TensorInfo& t) { return t.name == "blk.1.ffn_up.weight"; });
  EXPECT_EQ(describe_error(absent), file + "missing tensor blk.1.ffn_up.weight (expected shape [8, 16])");
}

// rope_freqs is optional, but when there its length is read per RoPE pair: a short one is an error.
TEST(GgufDescribe, ChecksRopeFreqsWhenPresent) {
  GgufFile gguf = tiny_model("llama");
  gguf.tensors.push_back({.name = "rope_freqs.weight", .shape = {2}});
  EXPECT_EQ(describe_gguf(gguf, "tiny.gguf").head_dim, 4u);
  gguf.tensors.back().shape = {1};
  EXPECT_EQ(describe_error(gguf), "/models/tiny.gguf: tensor rope_freqs.weight has shape [1], expected [2]");
}

TEST(GgufRealFiles, Stories260KDescribesAsLlama) {
  const fs::path file = kShared / "models" / "stories260K.gguf";
  if (!shared_file_present(file)) GTEST_SKIP() << file << " is absent";
  const ModelDesc desc = describe_gguf(read_gguf(file.string()), file.string());
  EXPECT_EQ(desc.architecture, "llama");
  EXPECT_EQ(desc.embedding_dim, 64u);
  EXPECT_EQ(desc.n_layers, 5u);
  EXPECT_EQ(desc.n_heads, 8u);
  EXPECT_EQ(desc.n_kv_heads, 4u);
  EXPECT_EQ(desc.head_dim, 8u);
  EXPECT_EQ(desc.ffn_dim, 172u);
  EXPECT_EQ(desc.vocab_size, 512u);
  EXPECT_FALSE(desc.tied_embeddings);
  for (const TensorInfo& tensor : desc.tensors) EXPECT_EQ(tensor.type, TensorType::f32) << tensor.name;
}

TEST(GgufRealFiles, EveryVocabularyFileParses) {
  const fs::path tokenizers = kShared / "tokenizers";
  if (!shared_file_present(tokenizers)) GTEST_SKIP() << tokenizers << " is absent";
  int parsed = 0;
  for (const fs::path& dir : {tokenizers, tokenizers / "ggml-vocab"}) {
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".gguf") continue;
      SCOPED_TRACE(entry.path().string());
      const GgufFile gguf = read_gguf(entry.path().string());
      EXPECT_NE(find(gguf.metadata, "tokenizer.ggml.model"), nullptr);
      ++parsed;
    }
  }
  EXPECT_GT(parsed, 10);
}

}  // namespace
}  // namespace rs::model
