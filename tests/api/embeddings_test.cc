#include "core/api/embeddings.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <string>
#include <vector>

namespace rs::api {
namespace {

ApiError rejection(std::string_view body) {
  try {
    parse_embedding_request(body);
  } catch (const ApiError& error) {
    return error;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

TEST(EmbeddingRequest, TakesEveryInputShapeOpenAiDoes) {
  EmbeddingRequest one = parse_embedding_request(R"({"input":"hello","model":"bge"})");
  ASSERT_EQ(one.inputs.size(), 1u);
  EXPECT_EQ(one.inputs[0].text, "hello");
  EXPECT_FALSE(one.inputs[0].is_tokens);
  EXPECT_EQ(one.model, "bge");
  EXPECT_FALSE(one.base64);
  EXPECT_EQ(one.dimensions, 0);

  EmbeddingRequest texts = parse_embedding_request(R"({"input":["a","b c"]})");
  ASSERT_EQ(texts.inputs.size(), 2u);
  EXPECT_EQ(texts.inputs[1].text, "b c");

  EmbeddingRequest ids = parse_embedding_request(R"({"input":[101,7592,102]})");
  ASSERT_EQ(ids.inputs.size(), 1u);
  EXPECT_TRUE(ids.inputs[0].is_tokens);
  EXPECT_EQ(ids.inputs[0].tokens, (std::vector<int32_t>{101, 7592, 102}));

  EmbeddingRequest lists = parse_embedding_request(R"({"input":[[1,2],[3]],"encoding_format":"base64","dimensions":384})");
  ASSERT_EQ(lists.inputs.size(), 2u);
  EXPECT_EQ(lists.inputs[1].tokens, (std::vector<int32_t>{3}));
  EXPECT_TRUE(lists.base64);
  EXPECT_EQ(lists.dimensions, 384);
}

TEST(EmbeddingRequest, RefusesWhatItCannotEmbedNamingTheField) {
  const struct {
    std::string_view body, param, mention;
  } cases[] = {
      {R"([1,2])", "", "not a JSON object"},
      {R"({"model":"x"})", "input", "required"},
      {R"({"input":""})", "input", "empty string"},
      {R"({"input":["a",""]})", "input[1]", "empty string"},
      {R"({"input":[]})", "input", "empty array"},
      {R"({"input":[[1],[]]})", "input[1]", "empty array"},
      {R"({"input":[1,-2]})", "input[1]", "token id"},
      {R"({"input":{"a":1}})", "input", "a string"},
      {R"({"input":"a","encoding_format":"int8"})", "encoding_format", "base64"},
      {R"({"input":"a","dimensions":0})", "dimensions", "positive integer"},
      {R"({"input":"a","dimensions":"384"})", "dimensions", "positive integer"},
      {R"({"input":"a","model":7})", "model", "string"},
  };
  for (const auto& c : cases) {
    const ApiError error = rejection(c.body);
    EXPECT_EQ(error.status(), 400) << c.body;
    EXPECT_EQ(error.param(), c.param) << c.body;
    EXPECT_NE(std::string(error.what()).find(c.mention), std::string::npos) << c.body << ": " << error.what();
  }
  std::string many = R"({"input":[)";
  for (size_t i = 0; i <= kMaxEmbeddingInputs; ++i) many += i ? ",\"x\"" : "\"x\"";
  many += "]}";
  EXPECT_EQ(rejection(many).param(), "input");
}

TEST(EmbeddingResponse, IsOpenAisShapeAndFloatsReadBackExactly) {
  const std::vector<float> vectors = {0.1f, -0.25f, 1e-7f, 0.333333343f};
  std::string body;
  append_embedding_response(body, "bge-small", vectors, 2, false, 7);
  EXPECT_EQ(body,
            R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.25]},)"
            R"({"object":"embedding","index":1,"embedding":[1e-07,0.33333334]}],"model":"bge-small",)"
            R"("usage":{"prompt_tokens":7,"total_tokens":7}})");
  simdjson::dom::parser parser;
  const simdjson::dom::element root = parser.parse(body);
  std::vector<float> read;
  for (const simdjson::dom::element item : root["data"].get_array()) {
    for (const simdjson::dom::element x : item["embedding"].get_array()) read.push_back(float(double(x)));
  }
  EXPECT_EQ(read, vectors);
}

TEST(EmbeddingResponse, Base64IsLittleEndianFloat32) {
  const std::vector<float> vectors = {1.0f, -2.0f};  // 0000803F 000000C0
  std::string body;
  append_embedding_response(body, "m", vectors, 2, true, 1);
  EXPECT_NE(body.find(R"("embedding":"AACAPwAAAMA=")"), std::string::npos) << body;
}

TEST(Base64, PadsAsRfc4648Says) {
  const auto encode = [](std::string_view text) {
    std::string out;
    append_base64(out, std::as_bytes(std::span(text.data(), text.size())));
    return out;
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(encode("\xff\xfe\xfd"), "//79");
}

}  // namespace
}  // namespace rs::api
