#pragma once
// Hugging Face safetensors models written by tests: tensors, headers, shards
// and config.json for a tiny model of every supported architecture.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace rs::model::fixture {

namespace fs = std::filesystem;

struct FixtureTensor {
  std::string name;             // Hugging Face naming
  std::string dtype;            // "F32", "F16", "BF16", …
  std::vector<uint64_t> shape;  // as stored: [out, in]
  std::string bytes;
};

inline uint64_t dtype_bytes(const std::string& dtype) { return dtype == "F32" ? 4 : 2; }

// Distinct, reproducible bytes per tensor, so a wrong offset or row shows.
inline std::string fixture_bytes(uint64_t seed, uint64_t count) {
  std::string bytes(count, '\0');
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (char& b : bytes) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    b = static_cast<char>(state >> 56);
  }
  return bytes;
}

inline FixtureTensor make_tensor(const std::string& name, const std::string& dtype, std::vector<uint64_t> shape) {
  uint64_t elements = 1;
  for (const uint64_t d : shape) elements *= d;
  return {name, dtype, std::move(shape),
          fixture_bytes(std::hash<std::string>{}(name), elements * dtype_bytes(dtype))};
}

inline std::string header_json(const std::vector<FixtureTensor>& tensors) {
  std::string json = R"({"__metadata__":{"format":"pt"})";
  uint64_t offset = 0;
  for (const FixtureTensor& t : tensors) {
    json += fmt::format(R"(,"{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})", t.name, t.dtype,
                        fmt::join(t.shape, ","), offset, offset + t.bytes.size());
    offset += t.bytes.size();
  }
  return json + "}";
}

inline std::string safetensors_file(const std::string& header, const std::string& data) {
  std::string file(8, '\0');
  for (size_t i = 0; i < 8; ++i) file[i] = static_cast<char>(uint64_t{header.size()} >> (8 * i));
  return file + header + data;
}

inline std::string safetensors_file(const std::vector<FixtureTensor>& tensors) {
  std::string data;
  for (const FixtureTensor& t : tensors) data += t.bytes;
  return safetensors_file(header_json(tensors), data);
}

inline void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string read_range(const std::string& path, uint64_t offset, uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  return bytes;
}

// The tiny model of every test: 2 layers, embd 8, 2 heads of 4, 1 KV head, ffn 16, vocab 10.
struct TinyModel {
  std::string architecture = "LlamaForCausalLM";
  bool biases = false;
  bool lm_head = true;
};

using JsonFields = std::map<std::string, std::string>;  // key → JSON value text

inline JsonFields tiny_config(const TinyModel& model) {
  return {{"architectures", fmt::format(R"(["{}"])", model.architecture)},
          {"hidden_size", "8"},
          {"num_hidden_layers", "2"},
          {"num_attention_heads", "2"},
          {"num_key_value_heads", "1"},
          {"intermediate_size", "16"},
          {"vocab_size", "10"},
          {"max_position_embeddings", "64"},
          {"rms_norm_eps", "1e-06"},
          {"tie_word_embeddings", model.lm_head ? "false" : "true"},
          {"torch_dtype", R"("bfloat16")"}};
}

inline std::string json_object(const JsonFields& fields) {
  std::vector<std::string> members;
  for (const auto& [key, value] : fields) members.push_back(fmt::format(R"("{}": {})", key, value));
  return fmt::format("{{{}}}", fmt::join(members, ", "));
}

// In Hugging Face naming and shapes; dtypes cycle through F32, F16, BF16.
inline std::vector<FixtureTensor> tiny_tensors(const TinyModel& model) {
  const std::string dtypes[] = {"F32", "F16", "BF16"};
  size_t next = 0;
  std::vector<FixtureTensor> tensors;
  const auto add = [&](const std::string& name, std::vector<uint64_t> shape) {
    tensors.push_back(make_tensor(name, dtypes[next++ % 3], std::move(shape)));
  };
  add("model.embed_tokens.weight", {10, 8});
  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = fmt::format("model.layers.{}.", layer);
    add(p + "input_layernorm.weight", {8});
    add(p + "self_attn.q_proj.weight", {8, 8});
    add(p + "self_attn.k_proj.weight", {4, 8});
    add(p + "self_attn.v_proj.weight", {4, 8});
    add(p + "self_attn.o_proj.weight", {8, 8});
    if (model.biases) {
      add(p + "self_attn.q_proj.bias", {8});
      add(p + "self_attn.k_proj.bias", {4});
      add(p + "self_attn.v_proj.bias", {4});
    }
    add(p + "post_attention_layernorm.weight", {8});
    add(p + "mlp.gate_proj.weight", {16, 8});
    add(p + "mlp.up_proj.weight", {16, 8});
    add(p + "mlp.down_proj.weight", {8, 16});
  }
  add("model.norm.weight", {8});
  if (model.lm_head) add("lm_head.weight", {10, 8});
  return tensors;
}

inline const FixtureTensor& find_fixture(const std::vector<FixtureTensor>& tensors, const std::string& name) {
  for (const FixtureTensor& t : tensors) {
    if (t.name == name) return t;
  }
  throw std::logic_error("no fixture tensor " + name);
}

inline std::vector<FixtureTensor> without(std::vector<FixtureTensor> tensors, const std::string& name) {
  std::erase_if(tensors, [&](const FixtureTensor& t) { return t.name == name; });
  return tensors;
}

// F32 values that survive any conversion exactly (small multiples of 1/64),
// for tests that compare values after a type change.
inline FixtureTensor finite_f32(const FixtureTensor& t) {
  const uint64_t elements = t.bytes.size() / dtype_bytes(t.dtype);
  std::string bytes;
  for (uint64_t i = 0; i < elements; ++i) {
    const float v = float(int(uint8_t(t.bytes[i])) - 128) / 64.0f;
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  return {t.name, "F32", t.shape, bytes};
}


// llama.cpp's convert_hf_to_gguf.py permute(): w.reshape(n_head, 2, rows // n_head // 2, cols)
// .swapaxes(1, 2).reshape(w.shape), i.e. output (h, j, t) takes input (h, t, j).
inline std::vector<uint64_t> llama_cpp_row_order(uint64_t rows, uint64_t heads) {
  const uint64_t half = rows / heads / 2;
  std::vector<uint64_t> order;
  for (uint64_t h = 0; h < heads; ++h) {
    for (uint64_t j = 0; j < half; ++j) {
      for (uint64_t t = 0; t < 2; ++t) order.push_back(h * 2 * half + t * half + j);
    }
  }
  return order;
}

}  // namespace rs::model::fixture
