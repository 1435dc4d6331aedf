#!/usr/bin/env bash
# tokenize-bench.sh: ringserve's tokenizers against llama.cpp's on 1 MiB of English.
#
# What it measures
#   MB/s (MB = 1e6 bytes) of turning a 1 MiB English corpus into token ids,
#   on one core (taskset), for each vocabulary: Llama 2 (SentencePiece),
#   Llama 3.2 (byte-level BPE, pre "llama-bpe"), SmolLM2 (pre "smollm") and
#   GPT-2. Ours: Tokenizer::encode(text, add_special = false, parse_special =
#   false), the call the server makes (perf/tokenize_bench.cc). The peer:
#   llama.cpp's tokenizer (llama_tokenize, the same flags) through
#   node-llama-cpp, loading the same GGUF vocabulary (perf/peer-tokenize.mjs).
#   For Llama 2 also Google's sentencepiece library on the model's
#   tokenizer.model (perf/sentencepiece_bench.cc), where libsentencepiece-dev
#   is installed. Each figure is the median of RUNS calls on the whole corpus,
#   after one unmeasured call. Then it checks that our ids equal the peer's,
#   id for id, on the whole corpus.
#
# The corpus
#   perf/make-corpus.py: exactly 1,048,576 bytes of Debian's `fortunes`
#   package (varied English prose, no text repeated), written to
#   perf/out/corpus.txt; deterministic for a given package version (the
#   script prints its md5).
#
# How to read it
#   ratio = ours / llama.cpp MB/s. Target (from the issue): >= 20 MB/s for
#   every vocabulary. Compare figures only between runs on the same machine;
#   the header prints it. Other load on the machine slows both sides:
#   cpu_mb_s in the raw lines (from the thread's CPU time) shows how much.
#
# Usage
#   perf/tokenize-bench.sh [BUILD_DIR]        (default: <repo>/build)
#   Environment knobs (defaults):
#     RUNS=7       measured calls per tokenizer      CPU=1   the core to pin to
#     TOKENIZERS=<repo>/../shared/tokenizers         where the vocabularies are
#     NODE_MODULES=<repo>/perf/out/node_modules      a node_modules with node-llama-cpp
#   Needs python3, taskset and the fortunes package (deploy/install-deps.sh
#   --perf). The llama.cpp peer needs node and node-llama-cpp, which has
#   prebuilt binaries; install it reproducibly with
#     NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix perf/out node-llama-cpp@3.22.1
#   Without it the script measures ours alone and says so.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
build_dir=${1:-$repo_root/build}
RUNS=${RUNS:-7}
CPU=${CPU:-1}
TOKENIZERS=${TOKENIZERS:-$repo_root/../shared/tokenizers}
NODE_MODULES=${NODE_MODULES:-$repo_root/perf/out/node_modules}
out=$repo_root/perf/out

die() { echo "tokenize-bench: error: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is missing"
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
[[ -d /usr/share/games/fortunes ]] || die "the fortunes package is missing: deploy/install-deps.sh --perf"
[[ -d $TOKENIZERS ]] || die "no vocabularies under $TOKENIZERS"

# ------------------------------------------------------------------- build --
if [[ ! -f $build_dir/build.ninja && ! -f $build_dir/Makefile ]]; then
  cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
targets=(tokenize_bench)
if cmake --build "$build_dir" --target help 2>/dev/null | grep -q '^sentencepiece_bench'; then
  targets+=(sentencepiece_bench)
fi
cmake --build "$build_dir" -j2 --target "${targets[@]}" >/dev/null
bench=$build_dir/perf/tokenize_bench
spm_bench=$build_dir/perf/sentencepiece_bench

# ------------------------------------------------------------------ corpus --
mkdir -p "$out"
python3 "$script_dir/make-corpus.py" "$out/corpus.txt"
corpus=$out/corpus.txt

# -------------------------------------------------------------------- peer --
peer=""
if command -v node >/dev/null && [[ -d $NODE_MODULES/node-llama-cpp ]]; then
  mkdir -p "$out/peer"
  cp "$script_dir/peer-tokenize.mjs" "$out/peer/"
  ln -sfn "$(cd "$NODE_MODULES" && pwd)" "$out/peer/node_modules"
  peer=$out/peer/peer-tokenize.mjs
  peer_version=$(node -p "require('$NODE_MODULES/node-llama-cpp/package.json').version")
else
  echo "tokenize-bench: node-llama-cpp is not installed (NODE_MODULES=$NODE_MODULES): measuring ours alone" >&2
fi

# ------------------------------------------------------------------ header --
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "# tokenize-bench $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $cpu_model, $(nproc) CPUs, kernel $(uname -r); pinned to CPU $CPU; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo_root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
echo "corpus: $corpus, $(stat -c %s "$corpus") bytes, md5 $(md5sum "$corpus" | cut -d' ' -f1)"
peer_text="none"
[[ -n $peer ]] && peer_text="llama.cpp via node-llama-cpp $peer_version, node $(node --version)"
echo "peer: $peer_text; runs: $RUNS (median)"
echo

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# Compares two id files: "yes", or "no" with where they first differ.
compare_ids() {
  if cmp -s "$1" "$2"; then echo yes; return; fi
  python3 - "$1" "$2" <<'EOF'
import sys
a, b = (open(p).read().split() for p in sys.argv[1:3])
i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
print(f"no (first difference at id {i} of {len(a)} / {len(b)})")
EOF
}

vocabs=(
  "llama2|llama2-vocab.gguf|llama2-tokenizer.model"
  "llama3.2|llama3.2-vocab.gguf|"
  "smollm2|smollm2-vocab.gguf|"
  "gpt-2|ggml-vocab/ggml-vocab-gpt-2.gguf|"
)
rows=()
for entry in "${vocabs[@]}"; do
  IFS='|' read -r name gguf spm_model <<<"$entry"
  path=$TOKENIZERS/$gguf
  [[ -f $path ]] || { echo "tokenize-bench: $path is missing: skipped" >&2; continue; }
  ours=$(taskset -c "$CPU" "$bench" "$path" "$corpus" --runs "$RUNS" --ids "$out/ours-$name.ids")
  echo "ours      $ours"
  ours_mb=$(field mb_s "$ours")
  peer_mb="-" ratio="-" same="-"
  if [[ -n $peer ]]; then
    theirs=$(taskset -c "$CPU" node "$peer" "$path" "$corpus" "$RUNS" "$out/llama.cpp-$name.ids" 2>/dev/null)
    echo "llama.cpp $theirs"
    peer_mb=$(field mb_s "$theirs")
    ratio=$(python3 -c "print(f'{$ours_mb / $peer_mb:.1f}x')")
    same=$(compare_ids "$out/ours-$name.ids" "$out/llama.cpp-$name.ids")
  fi
  rows+=("| $name | $ours_mb | $peer_mb | $ratio | $same |")
  if [[ -n $spm_model && -x $spm_bench && -f $TOKENIZERS/$spm_model ]]; then
    sp=$(taskset -c "$CPU" "$spm_bench" "$TOKENIZERS/$spm_model" "$corpus" --runs "$RUNS" --ids "$out/sentencepiece-$name.ids")
    echo "spm lib   $sp"
    sp_mb=$(field mb_s "$sp")
    sp_ratio=$(python3 -c "print(f'{$ours_mb / $sp_mb:.1f}x')")
    rows+=("| $name vs sentencepiece $(pkg-config --modversion sentencepiece 2>/dev/null || echo lib) | $ours_mb | $sp_mb | $sp_ratio | $(compare_ids "$out/ours-$name.ids" "$out/sentencepiece-$name.ids") |")
  fi
done

echo
echo "| vocabulary | ours MB/s | peer MB/s | ours / peer | ids identical on the corpus |"
echo "|---|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
