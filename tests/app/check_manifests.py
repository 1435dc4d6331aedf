"""Checks deploy/'s manifests parse as YAML and agree with the binary.

Usage: check_manifests.py SERVE_HELP_FILE CLOUDRUN_YAML GKE_YAML. Exit 77 without PyYAML (python3-yaml)."""
import re
import sys

try:
    import yaml
except ImportError:
    print("PyYAML is missing (Debian: python3-yaml)")
    sys.exit(77)

serve_help, cloudrun_path, gke_path = sys.argv[1:4]
serve_flags = set(re.findall(r"--[a-z][a-z0-9-]*", open(serve_help).read()))


def flag_values(args):
    """The container's args as {flag: value}; every flag must be one serve --help lists."""
    values = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            assert arg in serve_flags, f"{arg} is not a flag of ringserve serve"
            values[arg] = args[i + 1]
    return values


def check_container(container, grace_seconds):
    flags = flag_values(container["args"])
    port = int(flags["--port"])
    assert container["ports"][0]["containerPort"] == port
    for probe, path in (("startupProbe", "/ready"), ("livenessProbe", "/health")):
        assert container[probe]["httpGet"] == {"path": path, "port": port}, probe
    assert float(flags["--drain-timeout"]) < grace_seconds, "the drain must end before SIGKILL"
    return flags


service = yaml.safe_load(open(cloudrun_path))
template = service["spec"]["template"]
spec = template["spec"]
flags = check_container(spec["containers"][0], grace_seconds=10)  # Cloud Run's SIGTERM grace
assert spec["containerConcurrency"] == int(flags["--max-concurrency"])
assert template["metadata"]["annotations"]["run.googleapis.com/cpu-throttling"] == "false"
probe = spec["containers"][0]["startupProbe"]
assert probe.get("initialDelaySeconds", 0) + probe["periodSeconds"] * probe["failureThreshold"] <= 240

documents = {d["kind"]: d for d in yaml.safe_load_all(open(gke_path))}
assert set(documents) == {"Deployment", "Service", "PodMonitoring", "HorizontalPodAutoscaler"}, set(documents)
pod = documents["Deployment"]["spec"]["template"]["spec"]
grace = pod["terminationGracePeriodSeconds"]
container = pod["containers"][0]
pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
flags = check_container(container, grace_seconds=grace - pre_stop)
# Pod Security "restricted" (Autopilot): ringserve runs under RuntimeDefault, which refuses io_uring, on epoll.
assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
assert pod["securityContext"]["runAsNonRoot"] is True
assert container["securityContext"]["allowPrivilegeEscalation"] is False
assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
assert documents["Service"]["spec"]["ports"][0]["targetPort"] == int(flags["--port"])
assert documents["PodMonitoring"]["spec"]["endpoints"][0]["path"] == "/metrics"
metric = documents["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]["metric"]["name"]
assert metric == "prometheus.googleapis.com|ringserve_num_requests_waiting|gauge", metric
print("manifests agree with the binary")
