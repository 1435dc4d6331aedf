#pragma once
// A model's files streamed whole into host memory, one O_DIRECT stream, and
// its tensors handed out as views into those images: matrices in the type the
// file stores them (q4_0 and q8_0 rows rearranged in place for the kernels:
// kernels::prepare_matrix), vectors as floats. Nothing is converted up front.
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/matrix.h"
#include "core/model/model_desc.h"
#include "io/file_stream.h"
#include "io/host_memory_sink.h"

namespace rs::cpu {

class TensorImages {
 public:
  // Streams `files`; `files` and `tensors` (a description's, which names
  // tensors' files by index) must outlive this. Throws what stream_files throws.
  TensorImages(const std::vector<std::string>& files, const std::vector<model::TensorInfo>& tensors,
               const io::StreamOptions& options);
  TensorImages(const TensorImages&) = delete;
  TensorImages& operator=(const TensorImages&) = delete;

  // The 2-D tensor `name` as the kernels read it; each matrix may be taken
  // once (preparing rewrites its rows). Throws model::ModelError naming the
  // tensor that is missing or malformed.
  kernels::Matrix matrix(const std::string& name);
  // The tensor `name`'s values as floats; empty when it is absent and not `required`.
  std::vector<float> vector(const std::string& name, bool required = true);

  // Backs the images with huge pages where the kernel can (fewer TLB misses
  // while streaming through the weights), logging what it moved.
  void move_to_huge_pages() const;

 private:
  const model::TensorInfo& tensor(const std::string& name) const;
  std::byte* bytes_of(const model::TensorInfo& t);

  const std::vector<std::string>& files_;
  const std::vector<model::TensorInfo>& tensors_;
  io::HostMemorySink images_;
  std::vector<std::unique_ptr<std::byte[]>> permuted_;  // Hugging Face Q/K rows reordered for our RoPE
};

}  // namespace rs::cpu
