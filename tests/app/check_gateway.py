"""GKE Inference Gateway manifests against the Deployment they front and a running server's /metrics.

Usage: check_gateway.py GATEWAY_YAML GKE_YAML METRICS_TEXT. Exits non-zero naming the first disagreement.
"""
import re
import sys

import yaml

gateway_path, gke_path, metrics_path = sys.argv[1:4]
gateway = {}
for document in yaml.safe_load_all(open(gateway_path)):
    gateway.setdefault(document["kind"], []).append(document)
expected = {"InferencePool", "InferenceObjective", "ServiceAccount", "Role", "RoleBinding", "Service", "Deployment",
            "Gateway", "HTTPRoute", "HealthCheckPolicy", "GCPBackendPolicy"}
assert set(gateway) == expected, set(gateway) ^ expected
one = {kind: documents[0] for kind, documents in gateway.items()}

gke = {d["kind"]: d for d in yaml.safe_load_all(open(gke_path))}
pod = gke["Deployment"]["spec"]["template"]
server = pod["spec"]["containers"][0]
server_port = server["ports"][0]["containerPort"]

# The pool is the Deployment's pods, on the port they serve.
pool = one["InferencePool"]
assert pool["apiVersion"] == "inference.networking.k8s.io/v1", pool["apiVersion"]
assert pool["spec"]["selector"]["matchLabels"] == pod["metadata"]["labels"], pool["spec"]["selector"]
assert [p["number"] for p in pool["spec"]["targetPorts"]] == [server_port], pool["spec"]["targetPorts"]

# The pool's endpoint picker is the picker Deployment, through its Service, on its gRPC port.
picker = one["Deployment"]
picker_service = one["Service"]
picker_ref = pool["spec"]["endpointPickerRef"]
assert picker_ref["name"] == picker_service["metadata"]["name"], picker_ref
assert picker_service["spec"]["selector"] == picker["spec"]["template"]["metadata"]["labels"]
picker_container = picker["spec"]["template"]["spec"]["containers"][0]
grpc_port = next(p["containerPort"] for p in picker_container["ports"] if p["name"] == "grpc")
assert picker_ref["port"]["number"] == grpc_port == picker_service["spec"]["ports"][0]["targetPort"]
assert picker["spec"]["template"]["spec"]["serviceAccountName"] == one["ServiceAccount"]["metadata"]["name"]
assert one["RoleBinding"]["subjects"][0]["name"] == one["ServiceAccount"]["metadata"]["name"]
assert one["RoleBinding"]["roleRef"]["name"] == one["Role"]["metadata"]["name"]

# The picker's flags: this pool, and metric names that are gauges of ringserve's /metrics.
args = picker_container["args"]
flags = {}
for i, arg in enumerate(args):
    if arg.startswith("--") and "=" not in arg:
        flags[arg] = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None
assert flags["--pool-name"] == pool["metadata"]["name"], flags
assert flags["--lora-info-metric"] == "", "ringserve serves no LoRA adapters: the picker must not look for them"
gauges = set(re.findall(r"^# TYPE (\S+) gauge$", open(metrics_path).read(), re.MULTILINE))
for flag in ("--total-queued-requests-metric", "--kv-cache-usage-percentage-metric"):
    assert flags[flag] in gauges, f"{flag} {flags[flag]} is not a gauge of /metrics"

# Objective, route and GKE's policies name the pool; the health check is the server's liveness probe.
assert one["InferenceObjective"]["spec"]["poolRef"]["name"] == pool["metadata"]["name"]
backend = one["HTTPRoute"]["spec"]["rules"][0]["backendRefs"][0]
assert (backend["kind"], backend["name"]) == ("InferencePool", pool["metadata"]["name"]), backend
assert one["HTTPRoute"]["spec"]["parentRefs"][0]["name"] == one["Gateway"]["metadata"]["name"]
for policy in ("HealthCheckPolicy", "GCPBackendPolicy"):
    target = one[policy]["spec"]["targetRef"]
    assert (target["group"], target["kind"], target["name"]) == (
        "inference.networking.k8s.io", "InferencePool", pool["metadata"]["name"]), target
check = one["HealthCheckPolicy"]["spec"]["default"]["config"]["httpHealthCheck"]
liveness = server["livenessProbe"]["httpGet"]
assert (check["requestPath"], check["port"]) == (liveness["path"], liveness["port"]), (check, liveness)
print("gateway manifests agree with the Deployment and /metrics")
