#include "core/app/deploy_manifests.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/base/json_write.h"

namespace rs {
namespace {

// Startup probe: Cloud Run allows a service at most 240 s of failure budget; loading fits in it or fails there.
constexpr int kStartupPeriodSeconds = 5;
constexpr int kStartupFailures = 48;  // 48 × 5 s = 240 s
// The longest request Cloud Run allows a service: long generations stream for minutes.
constexpr int kRequestTimeoutSeconds = 3600;
// With an L4, Cloud Run requires at least 4 CPU and 16 GiB; 8 and 32 GiB leave shards and the loader room.
constexpr int kCpus = 8;
constexpr std::string_view kMemory = "32Gi";
// The HPA's target: requests waiting per pod on average, a short queue scaled out before it grows.
constexpr int kWaitingTarget = 3;
// The endpoint picker's gRPC (ext_proc) and health ports, as the extension's own manifests have them.
constexpr int kPickerPort = 9002;
constexpr int kPickerHealthPort = 9003;

static_assert(kCloudRunDrainSeconds < 10, "Cloud Run sends SIGKILL 10 s after SIGTERM");
static_assert(kGkePreStopSeconds + kGkeDrainSeconds < kGkeGraceSeconds, "the drain must end inside the grace");

std::string header(const DeploySettings& s) {
  return fmt::format("# Made by `{}`\n# for {}. Regenerate it rather than edit it: tests check it is that output.\n",
                     s.generated_by, s.model_note);
}

// The container's args (the image's entry point is `ringserve serve`) as a YAML flow list of double-quoted
// strings (JSON's quoting is YAML's).
std::string args_list(const DeploySettings& s, int drain_seconds) {
  std::string out = "[";
  for (const std::string& arg : s.serve_args) out += json::quote(arg) + ", ";
  return out + fmt::format("\"--drain-timeout\", \"{}\"]", drain_seconds);
}

// Startup on /ready (503 until loaded and warmed up), within Cloud Run's budget; liveness on /health.
std::string probes(const DeploySettings& s) {
  return fmt::format(R"(        startupProbe:
          httpGet:
            path: /ready
            port: {port}
          periodSeconds: {period}
          timeoutSeconds: {period}
          failureThreshold: {failures}
        livenessProbe:
          httpGet:
            path: /health
            port: {port}
          periodSeconds: 10
          timeoutSeconds: 5
          failureThreshold: 3
)",
                     fmt::arg("port", s.port), fmt::arg("period", kStartupPeriodSeconds),
                     fmt::arg("failures", kStartupFailures));
}

}  // namespace

std::string cloud_run_service(const DeploySettings& s) {
  return header(s) + fmt::format(R"(apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
    metadata:
      annotations:
        # The operator's choice: instances kept warm (billed while idle) and the most to scale out to.
        autoscaling.knative.dev/minScale: "{min}"
        autoscaling.knative.dev/maxScale: "{max}"
        # A GPU needs CPU always allocated: the engine runs between requests' bytes.
        run.googleapis.com/cpu-throttling: "false"
        run.googleapis.com/startup-cpu-boost: "true"
        # No capacity held in another zone (cheaper); "false" buys it for failover.
        run.googleapis.com/gpu-zonal-redundancy-disabled: "true"
    spec:
      # Google's rule: model instances × parallel queries + model instances × ideal batch size (ringserve plan).
      containerConcurrency: {concurrency}
      timeoutSeconds: {timeout}
      nodeSelector:
        run.googleapis.com/accelerator: nvidia-l4
      containers:
      - name: ringserve
        image: {image}
        args: {args}
        ports:
        - name: http1
          containerPort: {port}
        resources:
          limits:
            cpu: "{cpus}"
            memory: {memory}
            nvidia.com/gpu: "1"
{probes})",
                                 fmt::arg("name", s.name), fmt::arg("min", s.min_instances),
                                 fmt::arg("max", s.max_instances), fmt::arg("concurrency", s.max_concurrency),
                                 fmt::arg("timeout", kRequestTimeoutSeconds), fmt::arg("image", s.image),
                                 fmt::arg("args", args_list(s, kCloudRunDrainSeconds)), fmt::arg("port", s.port),
                                 fmt::arg("cpus", kCpus), fmt::arg("memory", kMemory), fmt::arg("probes", probes(s)));
}

std::string gke_manifests(const DeploySettings& s) {
  return header(s) + fmt::format(R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {min_replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      nodeSelector:
        cloud.google.com/gke-accelerator: nvidia-l4
      tolerations:
      - key: nvidia.com/gpu
        operator: Exists
        effect: NoSchedule
      # preStop, then serve's drain, then SIGKILL.
      terminationGracePeriodSeconds: {grace}
      # Pod Security "restricted", as Autopilot enforces. RuntimeDefault refuses io_uring, so ringserve serves on
      # epoll; on a Standard cluster, type Unconfined gives it io_uring.
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
      - name: ringserve
        image: {image}
        args: {args}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: [ALL]
        ports:
        - name: http
          containerPort: {port}
        resources:
          requests:
            cpu: "{cpus}"
            memory: {memory}
            nvidia.com/gpu: "1"
          limits:
            memory: {memory}
            nvidia.com/gpu: "1"
        lifecycle:
          # The Service stops sending new requests before SIGTERM starts the drain.
          preStop:
            sleep:
              seconds: {prestop}
        readinessProbe:
          httpGet:
            path: /ready
            port: {port}
          periodSeconds: 5
{probes}---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
  - name: http
    port: 80
    targetPort: {port}
---
# Google Managed Prometheus scrapes /metrics.
apiVersion: monitoring.googleapis.com/v1
kind: PodMonitoring
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      app: {name}
  endpoints:
  - port: http
    path: /metrics
    interval: 15s
---
# Needs the Custom Metrics Stackdriver Adapter. Queue size (requests waiting) scales for throughput, as GKE's
# inference guidance recommends: raise the target until the latency targets are just met. For lower latency,
# scale on batch size instead: ringserve_num_requests_running with averageValue about the ideal batch size
# ({batch}, from ringserve plan).
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: {min_replicas}
  maxReplicas: {max}
  metrics:
  - type: Pods
    pods:
      metric:
        name: prometheus.googleapis.com|ringserve_num_requests_waiting|gauge
      target:
        type: AverageValue
        averageValue: "{waiting}"
)",
                                 fmt::arg("name", s.name),
                                 fmt::arg("min_replicas", std::max<uint32_t>(s.min_instances, 1)),
                                 fmt::arg("max", s.max_instances), fmt::arg("grace", kGkeGraceSeconds),
                                 fmt::arg("image", s.image), fmt::arg("args", args_list(s, kGkeDrainSeconds)),
                                 fmt::arg("port", s.port), fmt::arg("cpus", kCpus), fmt::arg("memory", kMemory),
                                 fmt::arg("prestop", kGkePreStopSeconds), fmt::arg("probes", probes(s)),
                                 fmt::arg("batch", s.ideal_batch_size),
                                 fmt::arg("waiting", kWaitingTarget));
}

std::string gke_gateway_manifests(const DeploySettings& s) {
  return header(s) + fmt::format(R"(# GKE Inference Gateway (Gateway API Inference Extension {version}) in front of the pods labelled app: {name}
# (deploy/gke/ringserve.yaml; its HPA sets how many). Needs the extension's CRDs and a cluster with the GKE
# Gateway controller; requests that name another model than the pods serve get their 404.
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      app: {name}
  targetPorts:
  - number: {port}
  endpointPickerRef:
    name: {name}-epp
    port:
      number: {picker}
    failureMode: FailClose
---
# The served model's objective; requests choose it with the x-gateway-inference-objective header.
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata:
  name: {name}
spec:
  priority: 0
  poolRef:
    group: inference.networking.k8s.io
    name: {name}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}-epp
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {name}-epp
rules:
- apiGroups: ["inference.networking.k8s.io"]
  resources: ["inferencepools"]
  verbs: ["get", "watch", "list"]
- apiGroups: ["inference.networking.x-k8s.io"]
  resources: ["inferenceobjectives"]
  verbs: ["get", "watch", "list"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "watch", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {name}-epp
subjects:
- kind: ServiceAccount
  name: {name}-epp
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {name}-epp
---
apiVersion: v1
kind: Service
metadata:
  name: {name}-epp
spec:
  selector:
    app: {name}-epp
  ports:
  - name: grpc
    port: {picker}
    targetPort: {picker}
    appProtocol: http2
---
# The endpoint picker scrapes each pod's /metrics and sends a request to the one with the shortest queue, the
# most free KV cache and the likeliest cached prefix (its default scorers). ringserve's gauges, by the model
# server protocol: requests waiting (requests, not sequences) and the fraction of the KV pool held by sequences
# (cached prefix blocks nobody holds count as free, as vLLM counts them: they are room to admit). No LoRA.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}-epp
spec:
  replicas: 1
  strategy:
    type: Recreate  # one active picker: its prefix-cache scorer's state is its own
  selector:
    matchLabels:
      app: {name}-epp
  template:
    metadata:
      labels:
        app: {name}-epp
    spec:
      serviceAccountName: {name}-epp
      terminationGracePeriodSeconds: {grace}
      containers:
      - name: epp
        image: registry.k8s.io/gateway-api-inference-extension/epp:{version}
        args:
        - --pool-name
        - "{name}"
        - --total-queued-requests-metric
        - "ringserve_num_requests_waiting"
        - --kv-cache-usage-percentage-metric
        - "ringserve_kv_cache_usage_ratio"
        - --lora-info-metric
        - ""
        - --metrics-endpoint-auth=false
        - --zap-encoder
        - "json"
        env:
        - name: NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        ports:
        - name: grpc
          containerPort: {picker}
        - name: grpc-health
          containerPort: {health}
        - name: metrics
          containerPort: 9090
        livenessProbe:
          grpc:
            port: {health}
            service: inference-extension
          periodSeconds: 10
        readinessProbe:
          grpc:
            port: {health}
            service: inference-extension
          periodSeconds: 2
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {name}
spec:
  gatewayClassName: gke-l7-regional-external-managed
  listeners:
  - name: http
    port: 80
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {name}
spec:
  parentRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: {name}
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /
    backendRefs:
    - group: inference.networking.k8s.io
      kind: InferencePool
      name: {name}
---
# The load balancer's health check of the pool's pods: ringserve's liveness path.
apiVersion: networking.gke.io/v1
kind: HealthCheckPolicy
metadata:
  name: {name}
spec:
  targetRef:
    group: inference.networking.k8s.io
    kind: InferencePool
    name: {name}
  default:
    config:
      type: HTTP
      httpHealthCheck:
        requestPath: /health
        port: {port}
---
# Long generations stream for minutes: the load balancer's backend timeout, as long as Cloud Run's request timeout.
apiVersion: networking.gke.io/v1
kind: GCPBackendPolicy
metadata:
  name: {name}
spec:
  targetRef:
    group: inference.networking.k8s.io
    kind: InferencePool
    name: {name}
  default:
    timeoutSec: {timeout}
)",
                                 fmt::arg("name", s.name), fmt::arg("version", kGatewayApiInference),
                                 fmt::arg("port", s.port), fmt::arg("picker", kPickerPort),
                                 fmt::arg("health", kPickerHealthPort), fmt::arg("grace", kGkeGraceSeconds),
                                 fmt::arg("timeout", kRequestTimeoutSeconds));
}

}  // namespace rs
