// api-bench.mjs: ringserve's OpenAI API under streaming load, and what serving
// costs per streamed token. perf/api-bench.sh starts the server and runs this;
// it also runs against any server that is already up:
//
//   node perf/api-bench.mjs --url http://127.0.0.1:PORT [--pid PID] [--model FILE]
//        [--clients "1 8 32"] [--max-tokens 64] [--prompt-tokens 128]
//        [--requests 3 | --duration SECONDS] [--idle 3] [--threads T]
//        [--server "COMMAND LINE"] [--command "COMMAND LINE"]   (both only printed)
//
// Per concurrency level C: C clients, each first sends one unmeasured warm-up
// request and then, in a closed loop (the next request when the last one has
// ended), --requests streaming POST /v1/completions ({"ignore_eos":true,
// "temperature":0,"stream":true,"stream_options":{"include_usage":true}}) or,
// with --duration, new requests until that many seconds have passed. Every
// prompt is about --prompt-tokens tokens (checked with POST /tokenize) and
// starts with its own tag, so that no cache can serve one request's prompt
// from another's.
//
// Per request: TTFT = send to the first SSE chunk with non-empty text, e2e =
// send to the end of the response, output tokens = usage.completion_tokens,
// and the response body's bytes (sse_bytes_per_token in the JSON lines).
// Per level: aggregate output tokens/s = all output tokens / wall time of the
// level; TTFT p50/p99 (nearest rank: with fewer than 100 requests p99 is the
// slowest); TPOT = median over requests of (e2e - ttft) / (tokens - 1).
//
// Serving overhead (needs --pid, the server's process on this machine): CPU
// time of each server thread before and after the level, from
// /proc/PID/task/*/schedstat (nanoseconds; /proc/PID/task/*/stat utime+stime
// in clock ticks as a cross-check and as the fallback), grouped as "shard"
// (threads named shard-N: HTTP, SSE, JSON and detokenizing), "engine" (the
// scheduler, which also runs the first share of every compute region) and
// "compute" (every other thread: the compute pool's workers, plus the idle
// main and signal threads). And /metrics before and after:
// ringserve_engine_step_seconds_{sum,count}, ringserve_generation_tokens_total,
// ringserve_engine_steps_total. From them:
//   shard us/token  = shard CPU / generated tokens
//   % of step       = shard us/token / mean step time  (the issue's target: < 5%)
//   % of TPOT       = shard us/token / TPOT (the step time as the clients see it:
//                     the mean step time includes prefill steps)
//   % of engine busy = shard CPU / engine busy time (step seconds' sum)
// Before the levels, --idle seconds with no requests measure what the shards
// burn idle (the reactor's 100 ms tick): a cost per second, not per token.
// Prints a header, one JSON line per level as it ends, then the tables.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {execFileSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import {performance} from "node:perf_hooks";
import {StringDecoder} from "node:string_decoder";

// ------------------------------------------------------------- arguments --

function parseArgs(argv) {
  const opts = {clients: "1 8 32", maxTokens: 64, promptTokens: 128, requests: 3, duration: 0, idle: 3};
  const names = {"--url": "url", "--pid": "pid", "--model": "model", "--clients": "clients",
                 "--max-tokens": "maxTokens", "--prompt-tokens": "promptTokens", "--requests": "requests",
                 "--duration": "duration", "--threads": "threads", "--idle": "idle",
                 "--server": "server", "--command": "command"};
  for (let i = 0; i < argv.length; ++i) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) fail(`unknown option or missing value: ${argv[i]} (see the top of ${fileURLToPath(import.meta.url)})`);
    opts[key] = argv[++i];
  }
  if (!opts.url) fail("--url is required");
  opts.url = opts.url.replace(/\/+$/, "");
  opts.clients = String(opts.clients).trim().split(/[\s,]+/).map(Number);
  for (const key of ["maxTokens", "promptTokens", "requests"]) {
    opts[key] = Number(opts[key]);
    if (!Number.isInteger(opts[key]) || opts[key] < 1) fail(`${key} must be a positive integer`);
  }
  opts.duration = Number(opts.duration);
  opts.idle = Number(opts.idle);
  if (!(opts.idle >= 0)) fail("--idle must be a number of seconds");
  if (!(opts.duration >= 0)) fail("--duration must be a number of seconds (0: use --requests)");
  if (opts.clients.some(c => !Number.isInteger(c) || c < 1)) fail("--clients must be positive integers");
  if (opts.maxTokens < 2) fail("--max-tokens must be at least 2 (TPOT needs two tokens)");
  opts.pid = opts.pid ? Number(opts.pid) : null;
  return opts;
}

function fail(message) {
  console.error(`api-bench: error: ${message}`);
  process.exit(1);
}

const opts = parseArgs(process.argv.slice(2));
const target = new URL(opts.url);
const agent = new http.Agent({keepAlive: true, maxSockets: Infinity});

// ------------------------------------------------------------------- HTTP --

// One plain request; resolves {status, body}.
function request(method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({host: target.hostname, port: target.port, path: urlPath, method, agent,
                              headers: payload ? {"Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload)} : {}},
      res => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", s => { text += s; });
        res.on("end", () => resolve({status: res.statusCode, body: text}));
        res.on("error", reject);
      });
    req.on("error", reject);
    req.end(payload);
  });
}

async function requestJson(method, urlPath, body) {
  const r = await request(method, urlPath, body);
  if (r.status !== 200) throw new Error(`${method} ${urlPath}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body);
}

// One streaming completion. Resolves {ok, ttft, e2e, tokens, promptTokens,
// chunks, fingerprint, error}; times in ms from just before the request is sent.
function streamCompletion(prompt) {
  const payload = JSON.stringify({prompt, max_tokens: opts.maxTokens, ignore_eos: true, temperature: 0,
                                  stream: true, stream_options: {include_usage: true}});
  return new Promise(resolve => {
    const r = {ok: false, ttft: null, e2e: null, tokens: 0, promptTokens: 0, chunks: 0, textChunks: 0, bytes: 0, fingerprint: null, error: null};
    let settled = false;
    const done = error => {
      if (settled) return;
      settled = true;
      r.e2e = performance.now() - t0;
      r.error = error ?? null;
      r.ok = !error;
      resolve(r);
    };
    let buffer = "", sawDone = false, sawUsage = false;
    const onEvent = event => {
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") { sawDone = true; continue; }
        let chunk;
        try { chunk = JSON.parse(data); } catch { r.error ??= `not JSON: ${data.slice(0, 200)}`; continue; }
        if (chunk.error) { r.error ??= `error event: ${JSON.stringify(chunk.error).slice(0, 300)}`; continue; }
        ++r.chunks;
        r.fingerprint ??= chunk.system_fingerprint ?? null;
        const text = chunk.choices?.[0]?.text ?? chunk.choices?.[0]?.delta?.content;
        if (text) {
          if (r.ttft === null) r.ttft = performance.now() - t0;
          ++r.textChunks;
        }
        if (chunk.usage) {
          sawUsage = true;
          r.tokens = chunk.usage.completion_tokens;
          r.promptTokens = chunk.usage.prompt_tokens;
        }
      }
    };
    const t0 = performance.now();
    const req = http.request({host: target.hostname, port: target.port, path: "/v1/completions", method: "POST", agent,
                              headers: {"Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload)}},
      res => {
        if (res.statusCode !== 200) {
          res.setEncoding("utf8");
          let text = "";
          res.on("data", s => { text += s; });
          res.on("end", () => done(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
          return;
        }
        const decoder = new StringDecoder("utf8");
        res.on("data", data => {
          r.bytes += data.length;
          const s = decoder.write(data);
          buffer += s.includes("\r") ? s.replace(/\r/g, "") : s;
          for (let i; (i = buffer.indexOf("\n\n")) >= 0;) {
            onEvent(buffer.slice(0, i));
            buffer = buffer.slice(i + 2);
          }
        });
        res.on("end", () => {
          if (buffer.trim()) onEvent(buffer);
          if (r.error) done(r.error);
          else if (!sawDone) done("the stream ended without data: [DONE]");
          else if (!sawUsage) done("no usage chunk (stream_options.include_usage)");
          else if (r.ttft === null) done("no chunk with text");
          else done(null);
        });
        res.on("error", e => done(`response: ${e.message}`));
      });
    req.setTimeout(900_000, () => req.destroy(new Error("no data for 900 s")));
    req.on("error", e => done(`request: ${e.message}`));
    req.end(payload);
  });
}

// ----------------------------------------------------------------- prompt --

// Words that most tokenizers keep whole, so a prompt has about one token per
// word (with the synth models' byte vocabulary: one per byte).
const WORDS = ("the server streams tokens to many clients at once while the engine runs one batched step " +
               "after another and each shard turns new tokens into text and sends them as events over the " +
               "open connection until the answer is complete").split(" ");
const wordsText = n => Array.from({length: n}, (_, i) => WORDS[i % WORDS.length]).join(" ");
// A fixed-width tag in front of every prompt: unique per request, same length.
let promptSerial = 0;
const tag = serial => `[${serial.toString(16).padStart(6, "0")}] `;
const tokenCount = async text => (await requestJson("POST", "/tokenize", {prompt: text})).count;

// The most words whose prompt (tag included, BOS included: /tokenize adds it as
// the completion does) has at most opts.promptTokens tokens.
async function calibratePrompt() {
  const sample = tag(0);
  let lo = 1, hi = 1;
  if (await tokenCount(sample + wordsText(1)) > opts.promptTokens) fail(`--prompt-tokens ${opts.promptTokens} is too small`);
  while (await tokenCount(sample + wordsText(hi)) <= opts.promptTokens) { lo = hi; hi *= 2; }
  while (hi - lo > 1) {  // count(lo) <= target < count(hi)
    const mid = (lo + hi) >> 1;
    if (await tokenCount(sample + wordsText(mid)) <= opts.promptTokens) lo = mid; else hi = mid;
  }
  // Then single characters, while they fit (one token each with most vocabularies).
  let body = wordsText(lo), tokens = await tokenCount(sample + body);
  for (let i = 0; i < 8 && tokens < opts.promptTokens; ++i) {
    const n = await tokenCount(sample + body + ".");
    if (n > opts.promptTokens) break;
    body += ".";
    tokens = n;
  }
  return {body, tokens};
}

// --------------------------------------------------------- server readings --

const clkTck = (() => {
  try { return Number(execFileSync("getconf", ["CLK_TCK"], {encoding: "utf8"}).trim()) || 100; } catch { return 100; }
})();

// CPU time per thread: {tid: {name, ns (schedstat, or null), ticks}}.
function threadCpu(pid) {
  const out = {};
  let tids;
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return null; }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");  // [0] state ... [11] utime, [12] stime
      let ns = null, runs = null;  // schedstat: ns on the CPU, ns waiting to run, times run
      try {
        const sched = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
        ns = Number(sched[0]);
        runs = Number(sched[2]);
      } catch {}
      out[tid] = {name, ns, runs, ticks: Number(fields[11]) + Number(fields[12])};
    } catch {}  // the thread exited meanwhile
  }
  return out;
}

const groupOf = name => name.startsWith("shard-") ? "shard" : name === "engine" ? "engine" : "compute";

// Seconds of CPU per group between two threadCpu() readings (threads that
// exited in between lose their time; new threads count from zero), and the
// CPU time measured from ticks, for the cross-check.
function cpuDelta(before, after) {
  const group = () => ({s: 0, tickS: 0, runs: 0, threads: 0});
  const groups = {shard: group(), engine: group(), compute: group()};
  let precise = true;
  for (const [tid, a] of Object.entries(after)) {
    const b = before[tid] ?? {ns: 0, runs: 0, ticks: 0};
    const g = groups[groupOf(a.name)];
    if (a.ns === null || b.ns === null) precise = false;
    g.tickS += (a.ticks - b.ticks) / clkTck;
    g.s += a.ns === null || b.ns === null ? 0 : (a.ns - b.ns) / 1e9;
    g.runs += a.runs === null || b.runs === null ? 0 : a.runs - b.runs;
    ++g.threads;
  }
  if (!precise) for (const g of Object.values(groups)) g.s = g.tickS;
  return {groups, source: precise ? "schedstat" : "stat"};
}

// The samples of /metrics by name, labelled ones summed (all shards' bytes).
async function metrics() {
  const r = await request("GET", "/metrics");
  if (r.status !== 200) throw new Error(`GET /metrics: HTTP ${r.status}`);
  const values = {};
  for (const line of r.body.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([^ ]+)$/.exec(line);
    if (m) values[m[1]] = (values[m[1]] ?? 0) + Number(m[3]);
  }
  return values;
}

// The shard threads' CPU while the server has nothing to do (timers, the
// reactor's periodic wake-ups): a cost per second, not per token.
async function idleShardCpu(seconds) {
  const before = threadCpu(opts.pid);
  const t0 = performance.now();
  await new Promise(resolve => setTimeout(resolve, seconds * 1000));
  const after = threadCpu(opts.pid);
  const wallS = (performance.now() - t0) / 1000;
  const {groups, source} = cpuDelta(before, after);
  return {msPerS: groups.shard.s * 1000 / wallS, runsPerS: groups.shard.runs / wallS, source, seconds: wallS};
}

// ------------------------------------------------------------------ stats --

const sorted = xs => [...xs].sort((a, b) => a - b);
const percentile = (xs, p) => xs.length ? sorted(xs)[Math.max(0, Math.ceil(p / 100 * xs.length) - 1)] : NaN;
const median = xs => {
  if (!xs.length) return NaN;
  const s = sorted(xs), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const round = (x, digits) => Number.isFinite(x) ? Number(x.toFixed(digits)) : null;

// ------------------------------------------------------------------ level --

async function runLevel(clients, prompt) {
  const send = () => streamCompletion(tag(++promptSerial) + prompt.body);
  const warm = await Promise.all(Array.from({length: clients}, send));
  const warmErrors = warm.filter(r => !r.ok);
  if (warmErrors.length) fail(`${warmErrors.length} warm-up request(s) failed at ${clients} clients; first: ${warmErrors[0].error}`);

  const m0 = await metrics();
  const cpu0 = opts.pid ? threadCpu(opts.pid) : null;
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = opts.duration > 0 ? t0 + opts.duration * 1000 : null;
  const results = [];
  await Promise.all(Array.from({length: clients}, async () => {
    for (let i = 0; deadline !== null ? i === 0 || performance.now() < deadline : i < opts.requests; ++i) {
      results.push(await send());
    }
  }));
  const wallS = (performance.now() - t0) / 1000;
  const clientCpu = process.cpuUsage(client0);
  const cpu1 = opts.pid ? threadCpu(opts.pid) : null;
  const m1 = await metrics();

  const ok = results.filter(r => r.ok);
  const errors = results.filter(r => !r.ok);
  const outTokens = ok.reduce((n, r) => n + r.tokens, 0);
  const d = name => (m1[name] ?? NaN) - (m0[name] ?? NaN);
  const generated = d("ringserve_generation_tokens_total");
  const stepCount = d("ringserve_engine_step_seconds_count");
  const stepSum = d("ringserve_engine_step_seconds_sum");
  const steps = d("ringserve_engine_steps_total");
  const stepMs = stepSum / stepCount * 1000;
  const tpotMs = median(ok.filter(r => r.tokens > 1).map(r => (r.e2e - r.ttft) / (r.tokens - 1)));
  const row = {
    what: "api", clients, requests: results.length, errors: errors.length,
    prompt_tokens: round(median(ok.map(r => r.promptTokens)), 1), max_tokens: opts.maxTokens,
    output_tokens: outTokens, wall_s: round(wallS, 3), tok_s: round(outTokens / wallS, 2),
    ttft_p50_ms: round(percentile(ok.map(r => r.ttft), 50), 1), ttft_p99_ms: round(percentile(ok.map(r => r.ttft), 99), 1),
    tpot_p50_ms: round(tpotMs, 2),
    e2e_p50_ms: round(median(ok.map(r => r.e2e)), 1),
    steps, step_ms: round(stepMs, 3), tokens_per_step: round(generated / steps, 2),
    engine_busy_pct: round(stepSum / wallS * 100, 1),
    client_cpu_pct: round((clientCpu.user + clientCpu.system) / 1e6 / wallS * 100, 1),
    sse_bytes_per_token: round(ok.reduce((n, r) => n + r.bytes, 0) / outTokens, 1),
    // Below 1: some tokens gave no text of their own (part of a UTF-8 character).
    text_chunks_per_token: round(ok.reduce((n, r) => n + r.textChunks, 0) / outTokens, 3),
  };
  if (generated !== outTokens) row.note = `server counted ${generated} generated tokens, the clients ${outTokens}`;
  if (cpu0 && cpu1) {
    const {groups, source} = cpuDelta(cpu0, cpu1);
    const shardUsPerToken = groups.shard.s / generated * 1e6;
    Object.assign(row, {
      cpu_source: source,
      shard_cpu_s: round(groups.shard.s, 4), engine_cpu_s: round(groups.engine.s, 3), compute_cpu_s: round(groups.compute.s, 3),
      shard_cpu_ticks_s: round(groups.shard.tickS, 2), shard_runs: groups.shard.runs,
      shard_us_per_token: round(shardUsPerToken, 2),
      overhead_pct_of_step: round(shardUsPerToken / (stepMs * 1000) * 100, 3),
      overhead_pct_of_tpot: round(shardUsPerToken / (tpotMs * 1000) * 100, 3),
      shard_pct_of_engine_busy: round(groups.shard.s / stepSum * 100, 3),
      // Each thread's tick count may be off by one tick at either reading.
      tick_error_pct: round(2 * groups.shard.threads / clkTck / Math.max(groups.shard.tickS, 1 / clkTck) * 100, 1),
    });
  }
  return {row, errors};
}

// ----------------------------------------------------------------- header --

function header(prompt, fingerprint, models, idle) {
  const cpuModel = (() => {
    try { return /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?"; } catch { return "?"; }
  })();
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  let commit = "?";
  try {
    commit = execFileSync("git", ["-C", repo, "rev-parse", "--short", "HEAD"], {encoding: "utf8", stdio: ["ignore", "pipe", "ignore"]}).trim();
    try { execFileSync("git", ["-C", repo, "diff", "--quiet", "HEAD"], {stdio: "ignore"}); } catch { commit += "+dirty"; }
  } catch {}
  let model = models?.data?.[0]?.id ?? "?";
  if (opts.model) {
    try { model += `, ${opts.model}, ${fs.statSync(opts.model).size} bytes (${(fs.statSync(opts.model).size / 1e9).toFixed(2)} GB)`; }
    catch { model += `, ${opts.model}`; }
  }
  const lines = [
    "== api-bench: streaming /v1/completions, closed loop ==",
    ...(opts.command ? [`command    ${opts.command}`] : []),
    `machine    ${cpuModel}, nproc ${os.availableParallelism()}, kernel ${os.release()}, load average ${os.loadavg().map(x => x.toFixed(2)).join(" ")}`,
    `ringserve  ${fingerprint ?? "?"} at ${opts.url}${opts.pid ? ` (pid ${opts.pid})` : ""}, repo at ${commit}, compute threads ${opts.threads ?? "?"}`,
    `model      ${model}`,
    ...(opts.server ? [`server     ${opts.server}`] : []),
    `client     node ${process.version}, node:http keep-alive`,
    `config     clients ${opts.clients.join(" ")}; prompt ${prompt.tokens} tokens (/tokenize, with BOS and the request tag); ` +
      `max_tokens ${opts.maxTokens}, ignore_eos, temperature 0; ` +
      (opts.duration > 0 ? `${opts.duration} s per level` : `${opts.requests} request(s) per client per level`) +
      `, after 1 unmeasured request per client`,
    opts.pid ? `cpu        per-thread CPU from /proc/${opts.pid}/task/*/schedstat (ns); stat ticks (CLK_TCK ${clkTck}, ` +
               `${(1000 / clkTck).toFixed(0)} ms) as a cross-check: make levels last several seconds` :
               "cpu        no --pid: serving overhead not measured",
  ];
  if (idle) {
    lines.push(`shard idle ${idle.msPerS.toFixed(2)} ms CPU per second over ${idle.seconds.toFixed(1)} s with no requests ` +
               `(${idle.runsPerS.toFixed(0)} wake-ups/s): a cost per second, which is much of 'us/token' at low token rates`);
  }
  if (os.loadavg()[0] > 0.5) {
    lines.push("note       the machine is not idle (load average above): server, client and other work share its cores");
  }
  return lines.join("\n");
}

// ------------------------------------------------------------------- main --

const pad = (s, n) => String(s ?? "-").padStart(n);
const fmt = (x, digits) => x === null || x === undefined ? "-" : Number(x).toFixed(digits);

async function main() {
  const models = await requestJson("GET", "/v1/models").catch(() => null);
  const prompt = await calibratePrompt();
  const probe = await streamCompletion(tag(0) + prompt.body);
  if (!probe.ok) fail(`the first completion failed: ${probe.error}`);
  if (probe.tokens !== opts.maxTokens) fail(`asked for ${opts.maxTokens} tokens with ignore_eos, got ${probe.tokens}`);
  const idle = opts.pid && opts.idle > 0 ? await idleShardCpu(opts.idle) : null;
  console.log(header(prompt, probe.fingerprint, models, idle));
  console.log();

  const rows = [];
  let failed = 0;
  for (const clients of opts.clients) {
    console.error(`api-bench: ${clients} client(s)...`);
    const {row, errors} = await runLevel(clients, prompt);
    console.log(JSON.stringify(row));
    for (const e of errors.slice(0, 3)) console.error(`api-bench: error at ${clients} clients: ${e.error}`);
    failed += errors.length;
    rows.push(row);
  }

  console.log();
  console.log("throughput and latency (TTFT: send to first text chunk; TPOT: median of (e2e - ttft) / (tokens - 1))");
  console.log(`${pad("clients", 7)} ${pad("reqs", 5)} ${pad("errors", 6)} ${pad("out tok", 8)} ${pad("wall s", 8)} ${pad("tok/s", 8)} ` +
              `${pad("TTFT p50 ms", 11)} ${pad("TTFT p99 ms", 11)} ${pad("TPOT ms", 8)} ${pad("e2e p50 ms", 10)} ${pad("client cpu", 10)}`);
  for (const r of rows) {
    console.log(`${pad(r.clients, 7)} ${pad(r.requests, 5)} ${pad(r.errors, 6)} ${pad(r.output_tokens, 8)} ${pad(fmt(r.wall_s, 2), 8)} ` +
                `${pad(fmt(r.tok_s, 2), 8)} ${pad(fmt(r.ttft_p50_ms, 1), 11)} ${pad(fmt(r.ttft_p99_ms, 1), 11)} ` +
                `${pad(fmt(r.tpot_p50_ms, 2), 8)} ${pad(fmt(r.e2e_p50_ms, 1), 10)} ${pad(fmt(r.client_cpu_pct, 0) + "%", 10)}`);
  }
  if (rows.some(r => r.requests < 100)) console.log("(p99 with fewer than 100 requests is the slowest request)");

  if (opts.pid) {
    console.log();
    console.log("serving overhead (shard threads: HTTP + SSE + JSON + detokenizing; target: < 5% of the step time per streamed token)");
    console.log(`${pad("clients", 7)} ${pad("step ms", 8)} ${pad("tok/step", 8)} ${pad("engine busy", 11)} ${pad("shard cpu ms", 12)} ` +
                `${pad("us/token", 8)} ${pad("% of step", 9)} ${pad("% of TPOT", 9)} ${pad("% of engine busy", 16)} ` +
                `${pad("engine cpu s", 12)} ${pad("compute cpu s", 13)} ${pad("ticks ±", 7)}`);
    for (const r of rows) {
      console.log(`${pad(r.clients, 7)} ${pad(fmt(r.step_ms, 2), 8)} ${pad(fmt(r.tokens_per_step, 2), 8)} ${pad(fmt(r.engine_busy_pct, 0) + "%", 11)} ` +
                  `${pad(fmt(r.shard_cpu_s * 1000, 1), 12)} ${pad(fmt(r.shard_us_per_token, 1), 8)} ` +
                  `${pad(fmt(r.overhead_pct_of_step, 3) + "%", 9)} ${pad(fmt(r.overhead_pct_of_tpot, 3) + "%", 9)} ` +
                  `${pad(fmt(r.shard_pct_of_engine_busy, 3) + "%", 16)} ${pad(fmt(r.engine_cpu_s, 2), 12)} ${pad(fmt(r.compute_cpu_s, 2), 13)} ` +
                  `${pad(fmt(r.tick_error_pct, 0) + "%", 7)}`);
    }
    console.log("(step ms: mean of all steps, prefill steps included; % of TPOT: against the time between tokens the clients saw)");
    const source = rows[0]?.cpu_source;
    console.log(source === "schedstat"
      ? "(shard cpu from schedstat, ns; 'ticks ±' is how far the clock-tick figure alone could be off; ticks vs schedstat in the JSON lines)"
      : `(shard cpu from clock ticks of ${(1000 / clkTck).toFixed(0)} ms: 'ticks ±' is its possible error; make levels longer if it is large)`);
    const worst = Math.max(...rows.map(r => Math.max(r.overhead_pct_of_step ?? Infinity, r.overhead_pct_of_tpot ?? Infinity)));
    console.log(`target     ${worst < 5 ? "met" : "NOT met"}: shard CPU per streamed token is at most ${fmt(worst, 3)}% ` +
                `of the step time (the larger of % of step and % of TPOT over the levels; target < 5%)`);
  }
  for (const r of rows) if (r.note) console.log(`note       ${r.clients} clients: ${r.note}`);
  agent.destroy();
  if (failed) fail(`${failed} request(s) failed`);
}

main().catch(e => fail(e.stack ?? String(e)));
