#include "core/model/safetensors_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <unordered_set>
#include <utility>

#include "core/model/hf_config.h"
#include "core/model/hf_tokenizer.h"
#include "core/model/model_error.h"
#include "core/model/tensor_names.h"

namespace rs::model {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kLengthFieldBytes = 8;
// The safetensors crate's limit on the header; the JSON side files are held to it too.
constexpr uint64_t kMaxJsonBytes = 100'000'000;
constexpr std::string_view kConfigFile = "config.json";
constexpr std::string_view kSingleFile = "model.safetensors";
constexpr std::string_view kIndexFile = "model.safetensors.index.json";

// ------------------------------------------------------------------ header

std::optional<TensorType> tensor_type_of(std::string_view dtype) {
  if (dtype == "F32") return TensorType::f32;
  if (dtype == "F16") return TensorType::f16;
  if (dtype == "BF16") return TensorType::bf16;
  return std::nullopt;
}

// Bytes of a tensor of `shape`, or nullopt if that does not fit in 64 bits.
std::optional<uint64_t> tensor_byte_count(uint64_t element_bytes, std::span<const uint64_t> shape) {
  // A zero dimension makes the tensor empty however large the others are.
  if (std::ranges::find(shape, uint64_t{0}) != shape.end()) return 0;
  uint64_t bytes = element_bytes;
  for (const uint64_t dim : shape) {
    if (bytes > std::numeric_limits<uint64_t>::max() / dim) return std::nullopt;
    bytes *= dim;
  }
  return bytes;
}

std::string shape_text(std::span<const uint64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

uint64_t read_u64_le(std::span<const uint8_t, kLengthFieldBytes> bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes.size(); ++i) value |= uint64_t{bytes[i]} << (8 * i);
  return value;
}

// A JSON list of non-negative integers; nullopt for anything else, or nothing.
std::optional<std::vector<uint64_t>> unsigned_list(simdjson::simdjson_result<simdjson::dom::element> value) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) return std::nullopt;
  std::vector<uint64_t> numbers;
  for (const simdjson::dom::element item : array) {
    uint64_t n = 0;
    if (item.get_uint64().get(n) != simdjson::SUCCESS) return std::nullopt;
    numbers.push_back(n);
  }
  return numbers;
}

SafetensorsTensor parse_tensor_entry(std::string_view file, std::string_view name,
                                     simdjson::dom::element entry, uint64_t data_bytes) {
  const auto error = [&](std::string_view problem) {
    return ModelError(fmt::format("{}: tensor {:?}: {}", file, name, problem));
  };
  simdjson::dom::object fields;
  if (entry.get_object().get(fields) != simdjson::SUCCESS) throw error("entry is not an object");

  std::string_view dtype;
  if (fields["dtype"].get_string().get(dtype) != simdjson::SUCCESS) {
    throw error("\"dtype\" is missing or not a string");
  }
  const std::optional<TensorType> type = tensor_type_of(dtype);
  if (!type) throw error(fmt::format("dtype {:?} is not supported (F32, F16 and BF16 are)", dtype));

  std::optional<std::vector<uint64_t>> shape = unsigned_list(fields["shape"]);
  if (!shape) throw error("\"shape\" is missing or not a list of non-negative integers");
  const std::optional<uint64_t> bytes = tensor_byte_count(info(*type).block_bytes, *shape);
  if (!bytes) throw error(fmt::format("shape {} is too large", shape_text(*shape)));

  const std::optional<std::vector<uint64_t>> offsets = unsigned_list(fields["data_offsets"]);
  if (!offsets || offsets->size() != 2) {
    throw error("\"data_offsets\" is missing or not [begin, end] of non-negative integers");
  }
  const uint64_t begin = (*offsets)[0];
  const uint64_t end = (*offsets)[1];
  if (begin > end) throw error(fmt::format("data_offsets [{}, {}] are reversed", begin, end));
  if (end > data_bytes) {
    throw error(
        fmt::format("data_offsets [{}, {}] end past the data section's {} bytes", begin, end, data_bytes));
  }
  if (end - begin != *bytes) {
    throw error(fmt::format("data_offsets [{}, {}] hold {} bytes, but {} {} needs {}", begin, end,
                            end - begin, dtype, shape_text(*shape), *bytes));
  }
  return {std::string(name), *type, std::move(*shape), begin, end};
}

void sort_and_check_disjoint(std::vector<SafetensorsTensor>& tensors, std::string_view file) {
  std::ranges::sort(tensors, {}, [](const SafetensorsTensor& t) { return std::pair(t.begin, t.end); });
  for (size_t i = 1; i < tensors.size(); ++i) {
    const SafetensorsTensor& before = tensors[i - 1];
    const SafetensorsTensor& after = tensors[i];
    if (after.begin < before.end) {
      throw ModelError(fmt::format("{}: tensors {:?} [{}, {}] and {:?} [{}, {}] overlap", file, before.name,
                                   before.begin, before.end, after.name, after.begin, after.end));
    }
  }
}

// ------------------------------------------------------------------- files

// A whole file mapped read-only: parsing its header touches only the header's pages.
class MappedFile {
 public:
  explicit MappedFile(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw os_error(path, "cannot open", errno);
    struct stat status {};
    const bool regular = ::fstat(fd, &status) == 0 && S_ISREG(status.st_mode);
    size_ = regular ? static_cast<size_t>(status.st_size) : 0;
    void* data = size_ > 0 ? ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
    const int mapping_error = errno;
    ::close(fd);  // the mapping keeps the file open
    if (!regular) throw ModelError(fmt::format("{}: not a regular file", path.filename().string()));
    if (data == MAP_FAILED) throw os_error(path, "cannot map", mapping_error);
    data_ = static_cast<const uint8_t*>(data);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  static ModelError os_error(const fs::path& path, std::string_view what, int error) {
    return ModelError(fmt::format("{}: {} ({})", path.filename().string(), what, std::strerror(error)));
  }

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

std::string read_json_text(const fs::path& path) {
  const MappedFile file(path);
  if (file.bytes().size() > kMaxJsonBytes) {
    throw ModelError(fmt::format("{}: {} bytes is over the limit of {}", path.filename().string(),
                                 file.bytes().size(), kMaxJsonBytes));
  }
  return {reinterpret_cast<const char*>(file.bytes().data()), file.bytes().size()};
}

// Without throwing on an unreadable directory: such a path is as good as absent.
bool is_readable_file(const fs::path& path) {
  std::error_code ignored;
  return fs::is_regular_file(path, ignored);
}

// A shard name from index.json must not lead out of the model's directory.
bool is_plain_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

using WeightMap = std::map<std::string, std::string, std::less<>>;  // index.json: tensor → shard

// Where a model's tensors are: safetensors files in its directory.
struct ModelFiles {
  fs::path directory;
  std::string listing;              // the file that lists the tensors: named in "missing" errors
  std::vector<std::string> shards;  // file names in `directory`, sorted
  std::optional<WeightMap> shard_of;  // none for a single file
};

ModelFiles read_shard_index(const fs::path& directory) {
  const std::string text = read_json_text(directory / kIndexFile);
  simdjson::dom::parser parser;
  simdjson::dom::object weight_map;
  if (const auto error = parser.parse(text).at_key("weight_map").get_object().get(weight_map)) {
    throw ModelError(
        fmt::format("{}: no \"weight_map\" object ({})", kIndexFile, simdjson::error_message(error)));
  }
  ModelFiles files{directory, std::string(kIndexFile), {}, WeightMap()};
  for (const auto [tensor, value] : weight_map) {
    std::string_view shard;
    if (value.get_string().get(shard) != simdjson::SUCCESS || !is_plain_file_name(shard)) {
      throw ModelError(fmt::format("{}: weight_map shard {} of tensor {:?} is not a plain file name",
                                   kIndexFile, simdjson::minify(value), tensor));
    }
    if (!files.shard_of->emplace(tensor, shard).second) {
      throw ModelError(fmt::format("{}: weight_map lists tensor {:?} twice", kIndexFile, tensor));
    }
    if (std::ranges::find(files.shards, shard) == files.shards.end()) {
      if (!is_readable_file(directory / shard)) {
        throw ModelError(fmt::format("{}: weight_map shard {:?} does not exist", kIndexFile, shard));
      }
      files.shards.emplace_back(shard);
    }
  }
  std::ranges::sort(files.shards);
  return files;
}

ModelFiles locate_model_files(const std::string& path) {
  std::error_code error;
  const fs::path absolute = fs::absolute(path, error).lexically_normal();
  if (is_readable_file(absolute)) {
    const std::string name = absolute.filename().string();
    return {absolute.parent_path(), name, {name}, std::nullopt};
  }
  if (path.empty() || !fs::is_directory(absolute, error)) {
    throw ModelError(fmt::format("{}: no such file or directory", path));
  }
  // "dir/" normalizes with an empty last component; the directory is its parent.
  const fs::path directory = absolute.has_filename() ? absolute : absolute.parent_path();
  if (is_readable_file(directory / kIndexFile)) return read_shard_index(directory);
  if (is_readable_file(directory / kSingleFile)) {
    return {directory, std::string(kSingleFile), {std::string(kSingleFile)}, std::nullopt};
  }
  throw ModelError(fmt::format("{}: holds neither {} nor {}", path, kSingleFile, kIndexFile));
}

// ----------------------------------------------------------------- tensors

// A tensor as one of the model's files stores it.
struct StoredTensor {
  SafetensorsTensor tensor;
  uint32_t file;        // index into ModelDesc::files
  uint64_t data_start;  // of that file
};

using StoredTensors = std::map<std::string, StoredTensor, std::less<>>;  // by Hugging Face name

// Reads every shard's header into one table and appends the shards' paths to `paths`.
StoredTensors read_tensor_tables(const ModelFiles& files, std::vector<std::string>& paths) {
  StoredTensors stored;
  for (const std::string& shard : files.shards) {
    const fs::path path = files.directory / shard;
    const MappedFile mapped(path);
    SafetensorsHeader header = parse_safetensors_header(mapped.bytes(), shard);
    const auto file = static_cast<uint32_t>(paths.size());
    paths.push_back(path.string());
    for (SafetensorsTensor& tensor : header.tensors) {
      if (files.shard_of) {
        const auto listed = files.shard_of->find(tensor.name);
        if (listed == files.shard_of->end() || listed->second != shard) {
          throw ModelError(fmt::format("{}: tensor {:?} is not listed for this file in {}", shard,
                                       tensor.name, kIndexFile));
        }
      }
      std::string name = tensor.name;  // copied first: the tensor moves into the value
      stored.emplace(std::move(name), StoredTensor{std::move(tensor), file, header.data_start});
    }
  }
  if (files.shard_of) {
    for (const auto& [tensor, shard] : *files.shard_of) {
      if (!stored.contains(tensor)) {
        throw ModelError(
            fmt::format("{}: tensor {:?} is listed in {:?} but not there", kIndexFile, tensor, shard));
      }
    }
  }
  return stored;
}

// As llama.cpp's converter, Q and K (biases too) get adjacent-pair order, K by its own head count.
uint32_t rope_permute_heads(RopeHeads heads, const ModelDesc& desc) {
  if (desc.rope_layout != RopeLayout::adjacent_pairs) return 0;
  switch (heads) {
    case RopeHeads::none: return 0;
    case RopeHeads::query: return desc.n_heads;
    case RopeHeads::key_value: return desc.n_kv_heads;
  }
  return 0;
}

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

// Fills desc.tensors from the stored tensors: every needed one present, shaped as
// config.json says, and nothing else. `listing` names the model in "missing" errors.
void assign_tensors(ModelDesc& desc, StoredTensors& stored, std::string_view listing) {
  // Every layer has tensors of its own: more layers than the files hold tensors is damage, refused before the
  // expected tensors' names are made for billions of layers.
  if (desc.n_layers > stored.size()) {
    throw ModelError(fmt::format("{}: \"num_hidden_layers\" is {}, but {} holds only {} tensors", kConfigFile,
                                 desc.n_layers, listing, stored.size()));
  }
  for (const auto& [name, found] : stored) {
    if (!is_hf_rotary_buffer(name) && !gguf_name_of_hf(name)) {
      throw ModelError(fmt::format("{}: tensor {:?} is unknown", file_name(desc.files[found.file]), name));
    }
  }
  desc.tied_embeddings = desc.tied_embeddings && !stored.contains(hf_tensor_name(ModelTensor::output));
  for (uint32_t layer = 0; layer < desc.n_layers && !desc.qkv_bias; ++layer) {
    desc.qkv_bias = stored.contains(hf_tensor_name(LayerTensor::attn_q_bias, layer));
  }

  // desc.tensors is empty here, so the optional rope_freqs (none in Hugging Face files) is not expected.
  for (ExpectedTensor& expected : expected_tensors(desc)) {
    const auto found = stored.find(expected.hf_name);
    if (found == stored.end()) {
      throw ModelError(fmt::format("{}: tensor {:?} is missing", listing, expected.hf_name));
    }
    const StoredTensor& t = found->second;
    std::vector<uint64_t> shape = t.tensor.shape;
    std::ranges::reverse(shape);  // ggml order: the row length first
    if (shape != expected.shape) {
      std::ranges::reverse(expected.shape);  // as Hugging Face stores it: [out, in]
      throw ModelError(fmt::format("{}: tensor {:?} has shape {}, expected {}", file_name(desc.files[t.file]),
                                   expected.hf_name, shape_text(t.tensor.shape), shape_text(expected.shape)));
    }
    desc.tensors.push_back({.name = std::move(expected.name),
                            .type = t.tensor.type,
                            .shape = std::move(shape),
                            .file = t.file,
                            .offset = t.data_start + t.tensor.begin,
                            .bytes = t.tensor.end - t.tensor.begin,
                            .rope_permute_heads = rope_permute_heads(expected.rope_heads, desc)});
    stored.erase(found);
  }

  for (const auto& [name, left] : stored) {
    if (!is_hf_rotary_buffer(name)) {
      throw ModelError(fmt::format("{}: tensor {:?} is not part of a {}-layer {} model",
                                   file_name(desc.files[left.file]), name, desc.n_layers, desc.architecture));
    }
  }
}

MetaValue string_value(const std::string& s) { return {MetaType::string, MetaType::u32, s}; }

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file, std::string_view name) {
  if (file.size() < kLengthFieldBytes) {
    throw ModelError(
        fmt::format("{}: {} bytes is too short for the 8-byte header length", name, file.size()));
  }
  const uint64_t header_bytes = read_u64_le(file.first<kLengthFieldBytes>());
  const uint64_t bytes_after_length = file.size() - kLengthFieldBytes;
  if (header_bytes > bytes_after_length) {
    throw ModelError(fmt::format("{}: header length {} runs past the end of the file ({} bytes follow it)",
                                 name, header_bytes, bytes_after_length));
  }
  if (header_bytes > kMaxJsonBytes) {
    throw ModelError(
        fmt::format("{}: header length {} is over the limit of {}", name, header_bytes, kMaxJsonBytes));
  }
  const std::span<const uint8_t> json = file.subspan(kLengthFieldBytes, header_bytes);
  const uint64_t data_bytes = bytes_after_length - header_bytes;

  simdjson::dom::parser parser;
  simdjson::dom::object entries;
  if (const auto error = parser.parse(json.data(), json.size()).get_object().get(entries)) {
    throw ModelError(
        fmt::format("{}: header is not a JSON object ({})", name, simdjson::error_message(error)));
  }
  SafetensorsHeader header{.data_start = kLengthFieldBytes + header_bytes, .tensors = {}};
  std::unordered_set<std::string_view> seen;
  for (const auto [key, value] : entries) {
    if (!seen.insert(key).second) throw ModelError(fmt::format("{}: header lists {:?} twice", name, key));
    if (key == "__metadata__") {
      if (!value.is_object()) throw ModelError(fmt::format("{}: \"__metadata__\" is not an object", name));
      continue;  // free-form strings for the tools that wrote the file
    }
    header.tensors.push_back(parse_tensor_entry(name, key, value, data_bytes));
  }
  sort_and_check_disjoint(header.tensors, name);
  return header;
}

ModelDesc read_safetensors_model(const std::string& path) {
  const ModelFiles files = locate_model_files(path);
  ModelDesc desc = parse_hf_config(read_json_text(files.directory / kConfigFile), kConfigFile);
  desc.name = files.directory.filename().string();
  desc.metadata = {{"general.architecture", string_value(desc.architecture)},
                   {"general.name", string_value(desc.name)}};
  for (auto& entry : hf_tokenizer_metadata(files.directory)) desc.metadata.push_back(std::move(entry));
  StoredTensors stored = read_tensor_tables(files, desc.files);
  assign_tensors(desc, stored, files.listing);
  return desc;
}

}  // namespace rs::model
