#pragma once
// The model `serve` serves: the model and engine of model_engine.h, plus its
// chat template and the identity responses carry, warmed up with one real
// step and its prefix cache filled from a snapshot file before anything is
// served, its host weights moved to huge pages behind.
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/api/serving_model.h"
#include "core/app/model_engine.h"
#include "core/app/prefix_cache_file.h"

namespace rs {

struct ModelServiceOptions : ModelEngineOptions {
  std::string model_name;     // "" : the file's name
  std::string chat_template;  // "" : the model's own
  std::string tool_call_parser;  // how the model writes tool calls (api::tool_call_format_named); "" : its template's
  std::string prefix_cache_file;  // a `ringserve warm` snapshot loaded before serving ("" : none)
};

inline constexpr std::string_view kDemoModelId = "ringserve-demo-random-weights";

// The id `model` (a path, "" for the demo) is served under: `model_name` if given, else the file's or
// directory's name. The semantic cache's keys include it.
std::string served_model_id(const std::string& model, const std::string& model_name);

class ModelService {
 public:
  // Loads and warms up; throws std::exception naming the file or option at fault.
  explicit ModelService(const ModelServiceOptions& options);
  ~ModelService();

  const api::ServingModel& serving() const { return serving_; }
  engine::Engine& engine() { return model_.engine(); }
  uint64_t model_identity() const { return model_.model_identity(); }

 private:
  void log_loaded(const ModelServiceOptions& options) const;
  void warm_up();
  void load_prefix_cache(const ModelServiceOptions& options);

  std::unique_ptr<PreparedSnapshot> snapshot_;  // --prefix-cache-file until it is loaded; before model_, opened first
  ModelEngine model_;
  api::ServingModel serving_;
  std::thread huge_pages_;  // moves the weights to huge pages while the engine already serves
};

}  // namespace rs
