#pragma once
// The Cloud Run service and the GKE manifests `ringserve plan --emit` prints:
// YAML text filled with a plan's numbers, one nvidia-l4 GPU per instance.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rs {

struct DeploySettings {
  std::string generated_by;  // the plan command line, written in each file's header comment
  std::string model_note;    // what the plan described (the model's name), for the header comment
  std::string name = "ringserve";
  std::string image;
  uint16_t port = 8080;
  std::vector<std::string> serve_args;  // the drain timeout is each platform's
  uint64_t max_concurrency = 0;         // containerConcurrency, and serve's --max-concurrency
  uint64_t ideal_batch_size = 0;        // the HPA alternative's target
  uint32_t min_instances = 0;
  uint32_t max_instances = 3;
};

// Knative serving YAML for `gcloud run services replace`.
std::string cloud_run_service(const DeploySettings& settings);

// Deployment, Service, PodMonitoring and HorizontalPodAutoscaler, one multi-document YAML for `kubectl apply -f`.
std::string gke_manifests(const DeploySettings& settings);

// GKE Inference Gateway in front of gke_manifests' pods (Gateway API Inference Extension kGatewayApiInference):
// an InferencePool of them, its endpoint picker reading ringserve's queue and KV gauges, an InferenceObjective,
// a Gateway and an HTTPRoute, and GKE's health-check and backend policies for the pool.
std::string gke_gateway_manifests(const DeploySettings& settings);

inline constexpr std::string_view kGatewayApiInference = "v1.0.0";

// Cloud Run gives a container 10 s between SIGTERM and SIGKILL: serve drains for less.
inline constexpr int kCloudRunDrainSeconds = 8;
// GKE: the preStop sleep (endpoints drop the pod first), then the drain, inside the grace period.
inline constexpr int kGkePreStopSeconds = 5;
inline constexpr int kGkeDrainSeconds = 20;
inline constexpr int kGkeGraceSeconds = 30;

}  // namespace rs
