// The peer of tokenize_bench: llama.cpp's tokenizer through node-llama-cpp.
//
//   node perf/peer-tokenize.mjs VOCAB_GGUF TEXT RUNS IDS_OUT
//
// Loads the GGUF vocabulary only (no weights), then times model.tokenize(text)
// (llama.cpp's common_tokenize with add_special = false, parse_special =
// false: what tokenize_bench measures of ours) on the whole file: one
// unmeasured warm-up call, then RUNS measured calls. Only the tokenize call is
// timed; it includes node's UTF-16 to UTF-8 copy of the text and the copy of
// the ids into a Uint32Array (about 1 ms of a 1 MiB text). Prints the line
// tokenize_bench prints (MB = 1e6 bytes) and writes the ids to IDS_OUT.
import {readFileSync, writeFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [vocabPath, textPath, runsArg, idsPath] = process.argv.slice(2);
const runs = Number(runsArg ?? 7);
const bytes = readFileSync(textPath);
const text = bytes.toString("utf8");

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: vocabPath, vocabOnly: true});

let ids = model.tokenize(text);  // warm-up
const ms = [];
for (let run = 0; run < runs; ++run) {
  const start = process.hrtime.bigint();
  ids = model.tokenize(text);
  const stop = process.hrtime.bigint();
  ms.push(Number(stop - start) / 1e6);
}
const sorted = [...ms].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]
                                 : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
console.log(`vocab=${vocabPath} bytes=${bytes.length} tokens=${ids.length} ` +
            `runs_ms=${ms.map(m => m.toFixed(3)).join(",")} median_ms=${median.toFixed(2)} ` +
            `mb_s=${(bytes.length / 1e6 / (median / 1e3)).toFixed(2)}`);
if (idsPath) writeFileSync(idsPath, Array.from(ids).join(" ") + "\n");
await model.dispose();
await llama.dispose();
