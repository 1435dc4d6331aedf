# shellcheck shell=bash
# llama-cpp.sh: sourced by the scripts that compare ringserve with llama.cpp
# (cpu-bench.sh: llama-bench; embed-bench.sh: llama-embedding).
#
#   llama_cpp_tool OUT TOOL    prints the path of llama.cpp's TOOL, built
#                              natively under OUT/llama.cpp the first time;
#                              prints nothing (and says why on stderr) when the
#                              sources are not installed.
#
# The sources: the llama.cpp that the node-llama-cpp npm package ships
# (llama/gitRelease.bundle), built with GGML_NATIVE=ON. Install it reproducibly with
#   NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix perf/out node-llama-cpp@3.22.1
# Knobs:
#   LLAMA_CPP_BIN=DIR   take the tools from DIR (an existing llama.cpp build's
#                       bin/), build nothing
#   NODE_MODULES=DIR    where node-llama-cpp is (default OUT/node_modules)
# Building on 2 cores takes minutes; later calls find the tool built. A step
# that fails makes the function fail (it runs in $(...), where set -e does not
# reach), so the caller's set -e stops the script.

llama_cpp_tool() {
  local out=$1 tool=$2
  if [[ -n ${LLAMA_CPP_BIN:-} ]]; then
    [[ -x $LLAMA_CPP_BIN/$tool ]] || { echo "llama-cpp.sh: no $tool in LLAMA_CPP_BIN=$LLAMA_CPP_BIN" >&2; return 1; }
    echo "$LLAMA_CPP_BIN/$tool"
    return 0
  fi
  local src=$out/llama.cpp
  local bundle=${NODE_MODULES:-$out/node_modules}/node-llama-cpp/llama/gitRelease.bundle
  if [[ ! -x $src/build/bin/$tool ]]; then
    if [[ ! -f $src/build/build.ninja ]]; then
      [[ -f $bundle ]] || { echo "llama-cpp.sh: node-llama-cpp is not installed ($bundle is missing)" >&2; return 0; }
      echo "llama-cpp.sh: configuring llama.cpp natively from $bundle (once)" >&2
      rm -rf "$src" && git -c advice.detachedHead=false clone -q "$bundle" "$src" || return 1
      # Native, but without AMX: where the kernel does not grant AMX tile state (VMs), it dies of SIGILL.
      local no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
      cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DCMAKE_C_FLAGS="$no_amx" -DCMAKE_CXX_FLAGS="$no_amx" \
        -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null || return 1
    fi
    echo "llama-cpp.sh: building llama.cpp's $tool (once)" >&2
    ninja -C "$src/build" "$tool" >/dev/null || return 1
  fi
  echo "$src/build/bin/$tool"
}
