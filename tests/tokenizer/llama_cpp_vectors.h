#pragma once
// llama.cpp's tokenizer test vectors (test-tokenizer-0) and the vocabularies
// under ../shared they belong to.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/gguf_reader.h"
#include "core/tokenizer/vocab.h"
#include "tests/support/ci.h"

namespace rs::tokenizer::vectors {

inline const std::string kShared = RINGSERVE_SOURCE_DIR "/../shared/";

// The vocabulary of a GGUF under ../shared, or nullopt when the file is absent
// (a failure under CI, where the shared files must be there).
inline std::optional<Vocab> shared_vocab(const std::string& relative_path) {
  const std::string path = kShared + relative_path;
  if (!std::filesystem::exists(path)) {
    if (test::under_ci()) ADD_FAILURE() << path << " is missing under CI";
    return std::nullopt;
  }
  return vocab_from_metadata(model::read_gguf(path).metadata, path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// A .inp file: every string is followed by this line.
inline std::vector<std::string> vector_inputs(const std::string& content) {
  constexpr std::string_view kSeparator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t at = 0, end; (end = content.find(kSeparator, at)) != std::string::npos; at = end + kSeparator.size()) {
    inputs.push_back(content.substr(at, end - at));
  }
  return inputs;
}

// A .out file: one line of space-separated ids per string.
inline std::vector<std::vector<TokenId>> vector_outputs(const std::string& content) {
  std::vector<std::vector<TokenId>> outputs;
  std::istringstream lines(content);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream numbers(line);
    outputs.emplace_back();
    for (TokenId id; numbers >> id;) outputs.back().push_back(id);
  }
  return outputs;
}

}  // namespace rs::tokenizer::vectors
