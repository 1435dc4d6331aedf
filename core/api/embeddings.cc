#include "core/api/embeddings.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <bit>
#include <iterator>

#include "core/base/json_write.h"

namespace rs::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32s");

[[noreturn]] void fail_field(std::string_view field, std::string message) {
  throw ApiError(400, std::move(message), std::string(field));
}

}  // namespace

EmbeddingRequest parse_embedding_request(std::string_view body) {
  simdjson::dom::parser parser;
  element root;
  if (const auto error = parser.parse(body.data(), body.size()).get(root)) {
    throw ApiError(400, fmt::format("the body is not valid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (root.get(object)) throw ApiError(400, "the body is not a JSON object");
  EmbeddingRequest request;
  element value;
  if (!object["model"].get(value) && !value.is_null()) {
    std::string_view model;
    if (value.get(model)) fail_field("model", "\"model\" must be a string");
    request.model = model;
  }
  if (object["input"].get(value) || value.is_null()) {
    fail_field("input", "\"input\" is required: a string, an array of strings, or token ids");
  }
  request.inputs = parse_prompts(value, "input", kMaxEmbeddingInputs);
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    if (!request.inputs[i].is_tokens && request.inputs[i].text.empty()) {
      const std::string field = request.inputs.size() == 1 && value.is_string() ? "input" : fmt::format("input[{}]", i);
      fail_field(field, fmt::format("\"{}\" must not be an empty string", field));
    }
  }
  if (!object["encoding_format"].get(value) && !value.is_null()) {
    std::string_view format;
    if (value.get(format) || (format != "float" && format != "base64")) {
      fail_field("encoding_format", "\"encoding_format\" must be \"float\" or \"base64\"");
    }
    request.base64 = format == "base64";
  }
  if (!object["dimensions"].get(value) && !value.is_null()) {
    int64_t dimensions = 0;
    if (value.get(dimensions) || dimensions < 1) fail_field("dimensions", "\"dimensions\" must be a positive integer");
    request.dimensions = dimensions;
  }
  return request;
}

void append_base64(std::string& out, std::span<const std::byte> bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | uint32_t(bytes[i + 2]);
    for (const int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    const uint32_t v = uint32_t(bytes[i]) << 16 | (rest == 2 ? uint32_t(bytes[i + 1]) << 8 : 0);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
}

void append_embedding_response(std::string& out, std::string_view model, std::span<const float> vectors,
                               uint32_t dims, bool base64, uint64_t prompt_tokens) {
  auto to = std::back_inserter(out);
  out.append("{\"object\":\"list\",\"data\":[");
  const size_t count = dims == 0 ? 0 : vectors.size() / dims;
  for (size_t i = 0; i < count; ++i) {
    const std::span<const float> vector = vectors.subspan(i * dims, dims);
    fmt::format_to(to, "{}{{\"object\":\"embedding\",\"index\":{},\"embedding\":", i ? "," : "", i);
    if (base64) {
      out.push_back('"');
      append_base64(out, std::as_bytes(vector));
      out.push_back('"');
    } else {
      out.push_back('[');
      // Shortest text that reads back as the same float.
      for (size_t d = 0; d < vector.size(); ++d) fmt::format_to(to, "{}{}", d ? "," : "", vector[d]);
      out.push_back(']');
    }
    out.push_back('}');
  }
  out.append("],\"model\":");
  json::append_string(out, model);
  fmt::format_to(to, ",\"usage\":{{\"prompt_tokens\":{},\"total_tokens\":{}}}}}", prompt_tokens, prompt_tokens);
}

}  // namespace rs::api
