#!/usr/bin/env python3
"""gpu_peer.py: the peer of perf/gpu-bench.sh's decode figures.

Hugging Face transformers (PyTorch) greedy generation with a Llama model of
the same shapes as a ringserve synth GGUF (read from its metadata), random
weights in float16 on the GPU, built from a config: nothing is downloaded.

Decode tokens/s at batch B = B x N / (time to generate N + 1 tokens - time to
generate 1 token): both runs prefill the same prompt, so the difference is N
decode steps. Warm-up first; each time is the median of --repeats runs, with
torch.cuda.synchronize() around it. Prints JSON lines like engine_bench:

  {"what":"peer","impl":"transformers",...}
  {"what":"decode","batch":1,"tok_s":...,"step_ms":...,"new_tokens":N}

Usage: perf/gpu_peer.py --model synth-8b-f16.gguf [--batches 1,32] [--new-tokens 64]
"""
import argparse
import json
import os
import statistics
import struct
import sys
import time

# Never reach for the Hub: the model is built from a config.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# GGUF metadata value types (gguf.md): fixed-size ones by struct format.
GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
                12: "<d"}
GGUF_STRING, GGUF_ARRAY = 8, 9


def read_gguf_metadata(path):
    """The metadata key-value pairs of a GGUF file (arrays as lists)."""
    with open(path, "rb") as f:
        def take(fmt):
            size = struct.calcsize(fmt)
            data = f.read(size)
            if len(data) != size:
                raise ValueError(f"{path}: truncated GGUF header")
            return struct.unpack(fmt, data)[0]

        def string():
            return f.read(take("<Q")).decode("utf-8", errors="replace")

        def value(kind):
            if kind in GGUF_SCALARS:
                return take(GGUF_SCALARS[kind])
            if kind == GGUF_STRING:
                return string()
            if kind == GGUF_ARRAY:
                element, count = take("<I"), take("<Q")
                return [value(element) for _ in range(count)]
            raise ValueError(f"{path}: unknown GGUF metadata type {kind}")

        if f.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        version = take("<I")
        if version < 2:
            raise ValueError(f"{path}: GGUF version {version}; this reads 2 and 3")
        take("<Q")  # tensor count
        metadata = {}
        for _ in range(take("<Q")):
            key = string()
            metadata[key] = value(take("<I"))
        return metadata


def llama_config(metadata):
    """A transformers LlamaConfig with the GGUF's shapes (llama architecture)."""
    from transformers import LlamaConfig

    arch = metadata.get("general.architecture")
    if arch != "llama":
        raise ValueError(f"the model's architecture is {arch!r}; this peer builds llama models")
    key = lambda name: metadata[f"llama.{name}"]
    vocab = metadata.get("llama.vocab_size") or len(metadata["tokenizer.ggml.tokens"])
    theta = float(metadata.get("llama.rope.freq_base", 10000.0))
    shapes = dict(vocab_size=int(vocab), hidden_size=int(key("embedding_length")),
                  intermediate_size=int(key("feed_forward_length")), num_hidden_layers=int(key("block_count")),
                  num_attention_heads=int(key("attention.head_count")),
                  num_key_value_heads=int(key("attention.head_count_kv")),
                  max_position_embeddings=int(key("context_length")),
                  rms_norm_eps=float(key("attention.layer_norm_rms_epsilon")), tie_word_embeddings=False,
                  bos_token_id=1, eos_token_id=2, pad_token_id=0)
    # transformers 5 keeps RoPE's settings in rope_parameters (the speed does not depend on theta).
    return LlamaConfig(**shapes, rope_parameters={"rope_type": "default", "rope_theta": theta})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a ringserve synth GGUF whose shapes to copy")
    parser.add_argument("--batches", default="1,32", help="sequences generating together (default 1,32)")
    parser.add_argument("--prompt", type=int, default=16, help="prompt tokens per sequence (default 16)")
    parser.add_argument("--new-tokens", type=int, default=64, help="decode steps N timed (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the median is used (default 3)")
    parser.add_argument("--device", default="cuda", help="torch device (default cuda)")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    if min(batches + [args.prompt, args.new_tokens, args.repeats]) < 1:
        parser.error("--batches, --prompt, --new-tokens and --repeats must be positive")

    import torch
    import transformers
    from transformers import LlamaForCausalLM

    config = llama_config(read_gguf_metadata(args.model))
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_peer: torch sees no CUDA device")
    torch.manual_seed(0)
    # Made in float16 where it lives: an 8B model in float32 on the host would take 32 GB.
    torch.set_default_dtype(torch.float16)
    with device:
        model = LlamaForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    model.eval()
    parameters = sum(p.numel() for p in model.parameters())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    print(json.dumps({"what": "peer", "impl": "transformers", "transformers": transformers.__version__,
                      "torch": torch.__version__, "device": name, "dtype": "float16", "parameters": parameters,
                      "attn_implementation": getattr(model.config, "_attn_implementation", None)}), flush=True)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def generate(prompt, new_tokens):
        """Seconds to generate exactly `new_tokens` tokens greedily after `prompt`."""
        sync()
        start = time.perf_counter()
        out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                             max_new_tokens=new_tokens, min_new_tokens=new_tokens, use_cache=True)
        sync()
        seconds = time.perf_counter() - start
        if out.shape != (prompt.shape[0], prompt.shape[1] + new_tokens):
            raise RuntimeError(f"generate returned shape {tuple(out.shape)}, not {new_tokens} new tokens per row")
        return seconds

    generator = torch.Generator().manual_seed(1)
    with torch.inference_mode():
        for batch in batches:
            # Token ids past the byte vocabulary's specials (<unk> <s> </s>), different in every row.
            prompt = torch.randint(3, config.vocab_size, (batch, args.prompt), generator=generator).to(device)
            generate(prompt, args.new_tokens + 1)  # warm-up: kernels chosen, memory pools grown
            generate(prompt, 1)
            one = statistics.median(generate(prompt, 1) for _ in range(args.repeats))
            many = statistics.median(generate(prompt, args.new_tokens + 1) for _ in range(args.repeats))
            step = (many - one) / args.new_tokens
            print(json.dumps({"what": "decode", "batch": batch, "tok_s": round(batch / step, 2),
                              "step_ms": round(step * 1e3, 3), "new_tokens": args.new_tokens,
                              "first_token_s": round(one, 4)}), flush=True)


if __name__ == "__main__":
    main()
