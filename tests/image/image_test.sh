#!/usr/bin/env bash
# The container image (deploy/Dockerfile), CPU-only, built with buildah on a Debian 12 base made
# locally with mmdebstrap (no registry needed), then served: once without a model (the demo model;
# /ready, /health, a chat completion, SIGTERM drains and exits 0, as a non-root user), once with a
# model and a prefix cache snapshot baked in (loaded before /ready). `make test-image` runs it; it is
# not part of `make test`, since a build takes minutes.
#
# Usage: tests/image/image_test.sh [BINARY]
#   BINARY: a CPU-only ringserve to copy into the image instead of compiling it there (20 minutes
#   on 2 cores). IMAGE_TEST_BASE: the Debian 12 base (default localhost/debian:bookworm-slim, made
#   here when missing). Exits 77 (skipped), saying why, where buildah or a base cannot be had.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
binary=${1:-}
base=${IMAGE_TEST_BASE:-localhost/debian:bookworm-slim}
image=localhost/ringserve:image-test
model_image=localhost/ringserve:image-test-model

say() { echo "image test: $*"; }
skip() { say "skipped: $*"; exit 77; }
fail() { say "FAILED: $*" >&2; exit 1; }

command -v buildah >/dev/null || skip "buildah not found (deploy/install-deps.sh --image installs it)"
command -v curl >/dev/null || skip "curl not found"
if ! why=$(buildah images 2>&1 >/dev/null); then skip "buildah cannot run here: $why"; fi
if [[ -n $binary ]]; then
  [[ -x $binary ]] || fail "$binary is not an executable"
  if grep -aq 'libcublas\.so' "$binary"; then  # a CUDA build opens cuBLAS by that name (gpu/cublas_library.cc)
    fail "$binary is a CUDA build; this image is CPU-only (configure one with -DCMAKE_CUDA_COMPILER= to leave CUDA out)"
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ringserve-image-test.XXXXXX")
containers=()
server=""
cleanup() {
  if [[ -n $server ]]; then kill -KILL "$server" 2>/dev/null || true; fi
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The base: Debian 12 from Debian's own packages, kept in buildah's storage for later runs.
if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  if ! command -v mmdebstrap >/dev/null || ! command -v podman >/dev/null; then
    skip "no $base image, and mmdebstrap and podman to make one are missing (deploy/install-deps.sh --image)"
  fi
  say "making $base with mmdebstrap (Debian 12 minbase)"
  start=$SECONDS
  if ! mmdebstrap --quiet --variant=minbase --mode=unshare bookworm "$work/bookworm.tar" >"$work/mmdebstrap.log" 2>&1; then
    skip "mmdebstrap could not make a base (no Debian mirror or no user namespaces?): $(tail -1 "$work/mmdebstrap.log")"
  fi
  podman import --quiet "$work/bookworm.tar" "$base" >/dev/null
  rm "$work/bookworm.tar"
  say "base made in $((SECONDS - start)) s"
fi

# build TAG CONTEXT CACHE [BUILD_ARG...]: the CPU image from CONTEXT, with its time and size. CACHE:
# --layers, or --no-cache where a step reads bind-mounted files that may have changed under the same
# name (buildah's layer cache keys on build arguments, not on what a bind mount holds).
build() {
  local tag=$1 context=$2 cache=$3 args=() start=$SECONDS
  shift 3
  for a in BUILD_BASE="$base" RUNTIME_BASE="$base" CUDA_VERSION= "$@"; do args+=(--build-arg "$a"); done
  if ! buildah bud --isolation chroot "$cache" -f "$repo/deploy/Dockerfile" \
      -t "$tag" "${args[@]}" "$context" >"$work/build.log" 2>&1; then
    tail -30 "$work/build.log" >&2
    fail "building $tag"
  fi
  say "built $tag in $((SECONDS - start)) s: $(buildah images --format '{{.Size}}' "$tag")"
}

# serve IMAGE: runs the image's entrypoint on a free loopback port, as the image's user; sets
# $server (ringserve's pid), $port, $log. Under buildah's default seccomp profile, which (like Docker's
# and containerd's) may refuse io_uring: ringserve then serves on epoll.
serve() {
  local c entrypoint
  c=$(buildah from "$1")
  containers+=("$c")
  mapfile -d '' entrypoint < <(buildah inspect --type image \
    --format '{{range .OCIv1.Config.Entrypoint}}{{.}}{{"\x00"}}{{end}}' "$1")
  log=$work/serve.log
  buildah run --isolation chroot "$c" -- "${entrypoint[@]}" --host 127.0.0.1 --port 0 >"$log" 2>&1 &
  runner=$!
  port=""
  for _ in $(seq 300); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [[ -n $port ]] && break
    kill -0 "$runner" 2>/dev/null || { cat "$log" >&2; fail "ringserve exited before listening"; }
    sleep 0.2
  done
  [[ -n $port ]] || { cat "$log" >&2; fail "no 'listening on' line within 60 s"; }
  # ringserve is a descendant of `buildah run`: the process that listens.
  server=$(ps -e -o pid=,ppid=,comm= | awk -v root="$runner" '
    { parent[$1] = $2; name[$1] = $3 }
    END { for (p in name) if (name[p] == "ringserve") { q = p; while (q in parent && q != root) q = parent[q]; if (q == root) print p } }')
  [[ -n $server ]] || fail "no ringserve process under buildah run"
}

status() { curl -s -o "$work/body" -w '%{http_code}' "$@" || true; }

ready() {
  local deadline=$((SECONDS + 120))
  until [[ $(status "http://127.0.0.1:$port/ready") == 200 ]]; do
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; fail "ringserve exited before /ready"; }
    ((SECONDS < deadline)) || { cat "$log" >&2; fail "/ready not 200 within 120 s"; }
    sleep 0.5
  done
}

# stop: SIGTERM straight to ringserve, which drains and exits 0.
stop() {
  kill -TERM "$server"
  local code=0
  wait "$runner" || code=$?
  server=""
  [[ $code == 0 ]] || { cat "$log" >&2; fail "ringserve exited $code after SIGTERM"; }
}

# stage BINARY CONTEXT: a build context holding install-deps.sh and BINARY, named by its hash so
# that another binary is another build argument.
stage() {
  mkdir -p "$2/deploy"
  cp "$repo/deploy/install-deps.sh" "$2/deploy/"
  staged=ringserve-$(sha256sum "$1" | cut -c1-16)
  cp "$1" "$2/$staged"
}

# 1. No model: the demo model. Compiled in the image unless BINARY is given.
if [[ -n $binary ]]; then
  stage "$binary" "$work/context"
  build "$image" "$work/context" --layers BINARY="$staged"
else
  say "compiling ringserve inside the image (20 minutes on 2 cores; pass a CPU-only BINARY to skip that)"
  build "$image" "$repo" --no-cache
fi
serve "$image"
ready
[[ $(ps -o uid= -p "$server" | tr -d ' ') == 10001 ]] || fail "ringserve does not run as the image's user (uid 10001)"
[[ $(status "http://127.0.0.1:$port/health") == 200 ]] || fail "/health is not 200"
code=$(status "http://127.0.0.1:$port/v1/chat/completions" \
  -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":4}')
[[ $code == 200 ]] || fail "/v1/chat/completions answered $code: $(cat "$work/body")"
stop
backend=$(sed -n 's/.* shard(s) on \([a-z_]*\);.*/\1/p' "$log")
say "no model, under buildah's default seccomp profile, on ${backend:-?}: /ready, /health and a chat completion answered 200; SIGTERM drained, exit 0"

# 2. A model and its prefix cache snapshot baked in: the image's own ringserve (copied out of the
# first image) and a synthetic model it makes, so both builds share the compiled binary.
context=$work/model-context
c=$(buildah from "$image")
containers+=("$c")
buildah run --isolation chroot "$c" -- cat /usr/local/bin/ringserve >"$work/ringserve"
stage "$work/ringserve" "$context"
buildah run --isolation chroot "$c" -- sh -c 'ringserve synth --preset tiny -o /tmp/tiny.gguf >/dev/null 2>&1 && cat /tmp/tiny.gguf' \
  >"$context/tiny.gguf"
prompt="You are the support agent of Example Corp. Answer in one sentence, politely, and only about our products."
printf '"%s"\n"%s Today is Monday."\n' "$prompt" "$prompt" >"$context/prompts.jsonl"
build "$model_image" "$context" --layers BINARY="$staged" MODEL=tiny.gguf PROMPTS=prompts.jsonl
serve "$model_image"
ready
grep -Eq 'prefix cache file /models/prefix-cache.rkv: [1-9][0-9]* blocks' "$log" ||
  { cat "$log" >&2; fail "the baked prefix cache snapshot was not loaded"; }
if [[ $(status "http://127.0.0.1:$port/v1/models") != 200 ]] || ! grep -q '"id":"tiny"' "$work/body"; then
  fail "/v1/models does not serve the baked model as \"tiny\": $(cat "$work/body")"
fi
stop
say "baked model: $(grep -o 'prefix cache file [^;]*loaded in [0-9.]* ms' "$log"); /ready 200"
say "passed"
