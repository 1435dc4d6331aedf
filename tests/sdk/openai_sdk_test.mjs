#!/usr/bin/env node
// The official OpenAI Node SDK, unmodified, against a real `ringserve serve`.
//
//   node tests/sdk/openai_sdk_test.mjs [path/to/ringserve]     (or RINGSERVE_BINARY=...)
//
// Starts the server on a free port with the built-in demo model and an API key,
// then drives it only through the SDK's public API (plus plain fetch for
// /ready, /tokenize and /metrics). Exact expectations wherever the server is
// deterministic (temperature 0, or a fixed seed). Every check runs even when an
// earlier one failed; the exit status is 0 when all pass, 1 otherwise, and 77
// (ctest's SKIP_RETURN_CODE) when node is too old or the SDK is not installed
// (`npm ci --prefix tests/sdk`, done by deploy/install-deps.sh) — except under
// CI (CI set to any non-empty value), where nothing may skip: then it fails.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

// Skips for want of `reason`; under CI, fails instead.
function skipUnlessCi(reason) {
  if (process.env.CI) {
    console.log(`FAIL: ${reason} (under CI nothing may skip)`);
    process.exit(1);
  }
  console.log(`SKIP: ${reason}`);
  process.exit(SKIP);
}

const MIN_NODE_MAJOR = 20;
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < MIN_NODE_MAJOR) {
  skipUnlessCi(`node ${process.versions.node} is too old for the OpenAI SDK test (needs ${MIN_NODE_MAJOR}+)`);
}

let OpenAI;
try {
  ({ default: OpenAI } = await import('openai'));
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' || !existsSync(path.join(here, 'node_modules', 'openai'))) {
    skipUnlessCi(`the openai npm package is not installed in ${path.join(here, 'node_modules')} ` +
                 `(run: npm ci --prefix tests/sdk, or deploy/install-deps.sh)`);
  }
  throw error;
}
const { AuthenticationError, BadRequestError, NotFoundError } = OpenAI;
// The SDK's structured-output helper and its schema library (pinned beside the SDK in package.json).
const { zodResponseFormat } = await import('openai/helpers/zod');
const { z } = await import('zod');

const MODEL = 'ringserve-demo-random-weights';
const API_KEY = 'test-key';
const CONTEXT = 2048;  // the demo model's context
const binary = process.argv[2] || process.env.RINGSERVE_BINARY || path.join(repoRoot, 'build', 'ringserve');
if (!existsSync(binary)) {
  console.error(`FAIL: no ringserve binary at ${binary} (pass its path as the first argument or in RINGSERVE_BINARY)`);
  process.exit(1);
}

// ---- the server -------------------------------------------------------------------------------

let server = null;
let serverLog = '';
let serverExited = null;  // {code, signal} once it exited

function startServer() {
  return new Promise((resolve, reject) => {
    server = spawn(binary, ['serve', '--host', '127.0.0.1', '--port', '0', '--no-pin', '--api-key', API_KEY],
                   { stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => reject(new Error('the server did not log "listening on" within 15 s')), 15_000);
    server.on('error', (error) => { clearTimeout(timer); reject(error); });
    server.on('exit', (code, signal) => {
      serverExited = { code, signal };
      clearTimeout(timer);
      reject(new Error(`the server exited early (code ${code}, signal ${signal})`));
    });
    server.stderr.setEncoding('utf8');
    server.stderr.on('data', (text) => {
      serverLog += text;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(serverLog);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
}

async function stopServer() {
  if (!server || serverExited) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => { if (!serverExited) server.kill('SIGKILL'); }, 5_000);
  await exited;
  clearTimeout(timer);
}

// Never leave the server behind, whatever happens.
process.on('exit', () => { if (server && !serverExited) server.kill('SIGKILL'); });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { console.error(`FAIL: interrupted by ${signal}`); process.exit(1); });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(base) {
  const deadline = Date.now() + 15_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (serverExited) throw new Error(`the server exited (code ${serverExited.code}) before /ready`);
    try {
      const response = await fetch(`${base}/ready`);
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    await sleep(50);
  }
  throw new Error(`/ready did not answer 200 within 15 s (last: ${last})`);
}

// ---- checks -----------------------------------------------------------------------------------

const results = [];
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}: ${error?.stack || error}`);
  }
}

// Checks the SDK raised the typed error `type` with HTTP `status`.
async function expectApiError(promise, type, status, what) {
  let error = null;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${what}: expected ${type.name} (${status}), but the call succeeded`);
  assert.ok(error instanceof type,
            `${what}: expected ${type.name} (${status}), got ${error?.constructor?.name}: ${error?.message}`);
  assert.equal(error.status, status, `${what}: HTTP status`);
  return error;
}

// Whether `value` is an instance of `schema`, for the JSON Schema keywords the checks below use; throws naming the
// path where it is not. Independent of the server's own schema compiler.
function validate(schema, value, where = '$') {
  const fail = (why) => assert.fail(`${where}: ${why}: ${JSON.stringify(value)}`);
  if (schema.enum && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) fail('not in enum');
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (schema.type === 'integer' && !Number.isInteger(value)) fail('not an integer');
  if (schema.type && schema.type !== 'integer' && schema.type !== type) fail(`not ${schema.type}`);
  if (schema.minimum !== undefined && value < schema.minimum) fail(`below ${schema.minimum}`);
  if (schema.maximum !== undefined && value > schema.maximum) fail(`above ${schema.maximum}`);
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) fail('too long');
  if (type === 'array') {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail('too few items');
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail('too many items');
    value.forEach((item, i) => validate(schema.items, item, `${where}[${i}]`));
  }
  if (type === 'object') {
    for (const key of schema.required ?? []) if (!(key in value)) fail(`no ${key}`);
    for (const [key, item] of Object.entries(value)) {
      if (!schema.properties?.[key]) fail(`unexpected key ${key}`);
      validate(schema.properties[key], item, `${where}.${key}`);
    }
  }
}

function metricValue(text, name) {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `/metrics has no ${name}`);
  return Number(match[1]);
}

const chatMessages = [{ role: 'user', content: 'Write one short sentence about the sea.' }];

function assertUsage(usage, completionTokens, what) {
  assert.ok(usage, `${what}: usage missing`);
  assert.ok(Number.isInteger(usage.prompt_tokens) && usage.prompt_tokens > 0, `${what}: usage.prompt_tokens`);
  if (completionTokens !== undefined) assert.equal(usage.completion_tokens, completionTokens, `${what}: completion_tokens`);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, `${what}: total = prompt + completion`);
}

// Printable ASCII only: a stop string the detokenizer cannot split inside a character.
const isPlainAscii = (s) => /^[\x21-\x7e]+$/.test(s);

async function main() {
  const port = await startServer();
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base);
  console.log(`server up on ${base} (${binary})`);

  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 30_000 });
  const authorized = { Authorization: `Bearer ${API_KEY}` };
  const getMetrics = async () => {
    const response = await fetch(`${base}/metrics`, { headers: authorized });
    assert.equal(response.status, 200, '/metrics status');
    return response.text();
  };

  await check('models.list() lists the served model', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.deepEqual(ids, [MODEL]);
    assert.equal(page.data[0].object, 'model');
    assert.equal(typeof page.data[0].owned_by, 'string');
    assert.ok(Number.isInteger(page.data[0].created), 'created is an integer');
    // The page iterates too (the SDK's pagination helper).
    const iterated = [];
    for await (const model of client.models.list()) iterated.push(model.id);
    assert.deepEqual(iterated, [MODEL]);
  });

  // One greedy request, non-streaming and streaming: the same text.
  const greedyChat = { model: MODEL, messages: chatMessages, max_tokens: 5, temperature: 0 };
  let greedyContent = null;
  let greedyPromptTokens = null;

  await check('chat.completions.create, non-streaming', async () => {
    const completion = await client.chat.completions.create(greedyChat);
    assert.equal(completion.object, 'chat.completion');
    assert.match(completion.id, /^chatcmpl-/);
    assert.equal(completion.model, MODEL);
    assert.ok(Number.isInteger(completion.created), 'created is an integer');
    assert.equal(completion.choices.length, 1);
    const [choice] = completion.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(typeof choice.message.content, 'string');
    assert.equal(choice.finish_reason, 'length');
    assertUsage(completion.usage, 5, 'chat');
    greedyContent = choice.message.content;
    greedyPromptTokens = completion.usage.prompt_tokens;
    // Greedy is deterministic: once more, the same text.
    const again = await client.chat.completions.create(greedyChat);
    assert.equal(again.choices[0].message.content, greedyContent, 'temperature 0 twice');
    assert.notEqual(again.id, completion.id, 'each completion has its own id');
  });

  await check('chat.completions.create, streaming with include_usage', async () => {
    const stream = await client.chat.completions.create(
        { ...greedyChat, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, `every chunk has the same id, got ${[...ids].join(', ')}`);
    assert.match(chunks[0].id, /^chatcmpl-/);
    for (const chunk of chunks) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, MODEL);
    }
    const withChoices = chunks.filter((c) => c.choices.length > 0);
    assert.equal(withChoices[0].choices[0].delta.role, 'assistant', 'the first delta carries the role');
    const content = withChoices.map((c) => c.choices[0].delta.content ?? '').join('');
    if (greedyContent !== null) assert.equal(content, greedyContent, 'streamed text = non-streamed text');
    const finishes = withChoices.map((c) => c.choices[0].finish_reason).filter((f) => f !== null && f !== undefined);
    assert.deepEqual(finishes, ['length'], 'exactly one finish_reason, "length"');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
    assertUsage(last.usage, 5, 'stream usage');
    if (greedyPromptTokens !== null) assert.equal(last.usage.prompt_tokens, greedyPromptTokens);
    for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage ?? null, null, 'usage only on the last chunk');
  });

  await check('chat logprobs with top_logprobs', async () => {
    const completion = await client.chat.completions.create(
        { ...greedyChat, max_tokens: 4, logprobs: true, top_logprobs: 3 });
    const { content } = completion.choices[0].logprobs;
    assert.equal(content.length, 4, 'one entry per generated token');
    for (const [i, entry] of content.entries()) {
      assert.equal(typeof entry.token, 'string');
      assert.ok(entry.logprob <= 0, `content[${i}].logprob ${entry.logprob} <= 0`);
      assert.ok(Array.isArray(entry.bytes), `content[${i}].bytes`);
      assert.equal(entry.top_logprobs.length, 3, `content[${i}].top_logprobs has 3 entries`);
      for (let k = 1; k < 3; ++k) {
        assert.ok(entry.top_logprobs[k - 1].logprob >= entry.top_logprobs[k].logprob, 'top_logprobs sorted');
      }
      // Greedy: the chosen token is the most likely one.
      assert.equal(entry.top_logprobs[0].token, entry.token, `content[${i}]: greedy picks the top token`);
      assert.equal(entry.top_logprobs[0].logprob, entry.logprob);
    }
    const bytes = Uint8Array.from(content.flatMap((e) => e.bytes));
    assert.equal(new TextDecoder().decode(bytes), completion.choices[0].message.content, 'the bytes spell the text');
    // top_logprobs 0: logprobs, and empty top lists.
    const none = await client.chat.completions.create({ ...greedyChat, max_tokens: 2, logprobs: true, top_logprobs: 0 });
    for (const entry of none.choices[0].logprobs.content) assert.deepEqual(entry.top_logprobs, []);
  });

  const prompt = 'The quick brown fox';
  let greedyText = null;

  await check('completions.create with a string prompt', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt, max_tokens: 6, temperature: 0 });
    assert.equal(completion.object, 'text_completion');
    assert.match(completion.id, /^cmpl-/);
    assert.equal(completion.model, MODEL);
    assert.equal(completion.choices.length, 1);
    assert.equal(completion.choices[0].index, 0);
    assert.equal(typeof completion.choices[0].text, 'string');
    assert.equal(completion.choices[0].finish_reason, 'length');
    assertUsage(completion.usage, 6, 'completion');
    greedyText = completion.choices[0].text;
  });

  await check('completions.create with a token-id prompt = the same string prompt', async () => {
    const tokenized = await fetch(`${base}/tokenize`,
        { method: 'POST', headers: { ...authorized, 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: MODEL, prompt }) });
    assert.equal(tokenized.status, 200, '/tokenize status');
    const { tokens } = await tokenized.json();
    assert.ok(tokens.length > 0);
    const completion = await client.completions.create({ model: MODEL, prompt: tokens, max_tokens: 6, temperature: 0 });
    assert.equal(completion.usage.prompt_tokens, tokens.length);
    assertUsage(completion.usage, 6, 'token-id completion');
    if (greedyText !== null) assert.equal(completion.choices[0].text, greedyText, 'token ids and text give the same completion');
  });

  await check('completions.create streaming = non-streaming', async () => {
    const stream = await client.completions.create(
        { model: MODEL, prompt, max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'every chunk has the same id');
    for (const chunk of chunks) assert.equal(chunk.object, 'text_completion');
    const text = chunks.filter((c) => c.choices.length > 0).map((c) => c.choices[0].text).join('');
    if (greedyText !== null) assert.equal(text, greedyText);
    assertUsage(chunks.at(-1).usage, 6, 'completion stream usage');
  });

  await check('completions.create n=2 with a seed, echo and legacy logprobs', async () => {
    const request = { model: MODEL, prompt, max_tokens: 8, n: 2, seed: 1234, temperature: 1, echo: true, logprobs: 2 };
    const completion = await client.completions.create(request);
    assert.deepEqual(completion.choices.map((c) => c.index), [0, 1]);
    assertUsage(completion.usage, 16, 'n=2 usage counts both choices');
    for (const choice of completion.choices) {
      assert.equal(choice.finish_reason, 'length');
      assert.ok(choice.text.startsWith(prompt), `echo: the text starts with the prompt, got ${JSON.stringify(choice.text)}`);
      // Echo scores the prompt too (as OpenAI and vLLM do): its tokens lead, the first with no logprob.
      const { tokens, token_logprobs, top_logprobs, text_offset } = choice.logprobs;
      const promptTokens = completion.usage.prompt_tokens;
      assert.equal(tokens.length, promptTokens + 8, 'one token per prompt token and per generated token');
      assert.equal(token_logprobs.length, promptTokens + 8);
      assert.equal(top_logprobs.length, promptTokens + 8);
      assert.equal(text_offset.length, promptTokens + 8);
      assert.equal(token_logprobs[0], null, 'nothing predicts the first prompt token');
      assert.equal(top_logprobs[0], null);
      assert.equal(text_offset[0], 0);
      assert.equal(text_offset[promptTokens], Buffer.byteLength(prompt), 'the first generated token is past the prompt');
      for (let i = 1; i < promptTokens + 8; ++i) {
        assert.equal(typeof tokens[i], 'string');
        assert.ok(token_logprobs[i] <= 0, `token_logprobs[${i}] <= 0`);
        assert.ok(text_offset[i] >= text_offset[i - 1], 'text_offset does not decrease');
        // An object keyed by token text: tokens that display alike (partial UTF-8) share a key.
        const keys = Object.keys(top_logprobs[i]);
        assert.ok(keys.length >= 1 && keys.length <= 2, `top_logprobs[${i}] has 1..2 entries, got ${keys.length}`);
        for (const key of keys) assert.ok(top_logprobs[i][key] <= 0);
      }
    }
    assert.notEqual(completion.choices[0].text, completion.choices[1].text, 'the two choices are different samples');
    // The same seed again: the same two choices.
    const again = await client.completions.create(request);
    assert.deepEqual(again.choices.map((c) => c.text), completion.choices.map((c) => c.text), 'seeded n=2 twice');
  });

  await check('same seed + temperature 1 twice gives the same text', async () => {
    const request = { model: MODEL, messages: chatMessages, max_tokens: 24, temperature: 1, seed: 42 };
    const first = await client.chat.completions.create(request);
    const second = await client.chat.completions.create(request);
    assert.equal(second.choices[0].message.content, first.choices[0].message.content, 'chat');
    const other = await client.chat.completions.create({ ...request, seed: 43 });
    assert.notEqual(other.choices[0].message.content, first.choices[0].message.content, 'another seed, another text');
    const completionRequest = { model: MODEL, prompt, max_tokens: 24, temperature: 1, seed: 42 };
    const a = await client.completions.create(completionRequest);
    const b = await client.completions.create(completionRequest);
    assert.equal(b.choices[0].text, a.choices[0].text, 'completions');
  });

  await check('stop strings are honoured', async () => {
    const request = { model: MODEL, prompt, max_tokens: 64, temperature: 1, seed: 7, ignore_eos: true };
    const full = (await client.completions.create(request)).choices[0].text;
    // A printable-ASCII stop string (2 characters if the noise has such a pair, else 1) whose first
    // occurrence is past the start: printable ASCII, so the stop cannot fall inside a character.
    let stop = null;
    let cut = -1;
    for (const length of [2, 1]) {
      for (let i = 1; i + length <= full.length && stop === null; ++i) {
        const candidate = full.slice(i, i + length);
        if (isPlainAscii(candidate) && full.indexOf(candidate) >= 1) {
          stop = candidate;
          cut = full.indexOf(candidate);
        }
      }
    }
    assert.ok(stop !== null, `no usable stop string in ${JSON.stringify(full)}`);
    const stopped = await client.completions.create({ ...request, stop: [stop] });
    const { text, finish_reason } = stopped.choices[0];
    assert.equal(finish_reason, 'stop', `finish_reason with stop ${JSON.stringify(stop)}`);
    assert.ok(!text.includes(stop), `the text ${JSON.stringify(text)} contains the stop string ${JSON.stringify(stop)}`);
    assert.equal(text, full.slice(0, cut), `the text ends right before the stop string ${JSON.stringify(stop)}`);
    // Streaming stops at the same place; a chat request honours stop as a plain string too.
    const stream = await client.completions.create({ ...request, stop, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, full.slice(0, cut), 'streamed text with the stop string');
  });

  // Tool calling. The demo model's noise calls nothing by itself; tool_choice "required" or a named function hold
  // its output to the call's JSON Schema (the grammar engine), so that it then calls get_weather with valid
  // arguments.
  const weatherTool = {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Rome'] } },
                    required: ['city'], additionalProperties: false },
    },
  };
  const toolChat = { model: MODEL, messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
                     tools: [weatherTool], parallel_tool_calls: false, max_tokens: 400, temperature: 0 };
  const namedWeather = { type: 'function', function: { name: 'get_weather' } };
  const assertWeatherCall = (call, what) => {
    assert.match(call.id, /^call_[A-Za-z0-9]{24}$/, `${what}: id`);
    assert.equal(call.type, 'function', `${what}: type`);
    assert.equal(call.function.name, 'get_weather', `${what}: name`);
    const args = JSON.parse(call.function.arguments);
    assert.ok(['Paris', 'Rome'].includes(args.city), `${what}: arguments ${call.function.arguments}`);
  };

  await check('tool_choice "required": one valid call, content null, finish_reason "tool_calls"', async () => {
    const [choice] = (await client.chat.completions.create({ ...toolChat, tool_choice: 'required' })).choices;
    assert.equal(choice.message.tool_calls?.length, 1, `one call, got ${JSON.stringify(choice.message)}`);
    assertWeatherCall(choice.message.tool_calls[0], 'required');
    assert.equal(choice.message.content, null);
    assert.equal(choice.finish_reason, 'tool_calls');
  });

  await check('tool_choice naming a function: a call to it, finish_reason "stop" (as OpenAI)', async () => {
    const [choice] = (await client.chat.completions.create({ ...toolChat, tool_choice: namedWeather })).choices;
    assert.equal(choice.message.tool_calls?.length, 1, `one call, got ${JSON.stringify(choice.message)}`);
    assertWeatherCall(choice.message.tool_calls[0], 'named');
    assert.equal(choice.message.content, null);
    assert.equal(choice.finish_reason, 'stop');
  });

  await check('tool_choice "auto" with a model that calls nothing: content, no tool_calls', async () => {
    const [choice] = (await client.chat.completions.create({ ...toolChat, max_tokens: 8, ignore_eos: true })).choices;
    assert.equal(typeof choice.message.content, 'string');
    assert.equal(choice.message.tool_calls, undefined, 'no tool_calls field');
    assert.equal(choice.finish_reason, 'length');
  });

  await check('streamed tool calls, put together by the SDK stream helper = the whole call', async () => {
    for (const tool_choice of ['required', namedWeather]) {
      const request = { ...toolChat, tool_choice };
      const what = JSON.stringify(tool_choice);
      const whole = (await client.chat.completions.create(request)).choices[0];
      const stream = client.chat.completions.stream(request);
      const done = [];
      stream.on('tool_calls.function.arguments.done', (event) => done.push([event.name, event.arguments]));
      const [choice] = (await stream.finalChatCompletion()).choices;
      assert.equal(choice.message.tool_calls?.length, 1, `${what}: one call, got ${JSON.stringify(choice.message)}`);
      assertWeatherCall(choice.message.tool_calls[0], what);
      assert.equal(choice.message.tool_calls[0].function.arguments, whole.message.tool_calls[0].function.arguments,
                   `${what}: greedy, the streamed call = the whole one`);
      assert.equal(choice.message.content, null, `${what}: content`);
      assert.equal(choice.finish_reason, whole.finish_reason, `${what}: finish_reason`);
      assert.deepEqual(done, [['get_weather', whole.message.tool_calls[0].function.arguments]], `${what}: events`);
    }
  });

  await check('runTools: the SDK runs the function, and the server takes the round trip back', async () => {
    const calls = [];
    const runner = client.chat.completions.runTools({
      ...toolChat,
      tool_choice: namedWeather,
      tools: [{ type: 'function',
                function: { ...weatherTool.function, parse: JSON.parse,
                            function: (args) => { calls.push(args); return { temperature: 21 }; } } }],
    });
    await runner.done();
    assert.equal(calls.length, 1, 'the function ran once');
    assert.ok(['Paris', 'Rome'].includes(calls[0].city), `its arguments: ${JSON.stringify(calls[0])}`);
    const roles = runner.messages.map((m) => m.role);
    assert.deepEqual(roles, ['user', 'assistant', 'tool']);
    // The history as the SDK keeps it (arguments as JSON text, the tool's answer) goes back to the template.
    const followUp = await client.chat.completions.create(
        { model: MODEL, messages: runner.messages, tools: [weatherTool], max_tokens: 4, temperature: 0 });
    assert.equal(followUp.choices[0].message.role, 'assistant');
  });

  await check('a malformed tool is a BadRequestError naming the field', async () => {
    const error = await expectApiError(
        client.chat.completions.create({ ...toolChat, tools: [{ type: 'function', function: { name: 'get weather' } }] }),
        BadRequestError, 400, 'bad tool name');
    assert.equal(error.param, 'tools[0].function.name');
    const unknown = await expectApiError(
        client.chat.completions.create({ ...toolChat, tool_choice: { type: 'function', function: { name: 'nope' } } }),
        BadRequestError, 400, 'unknown function');
    assert.equal(unknown.param, 'tool_choice.function.name');
  });

  // Structured output. The demo model's weights are random: whatever it writes that is valid, the constraint made so.
  const person = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 10 },
      age: { type: 'integer', minimum: 0, maximum: 120 },
      mood: { enum: ['happy', 'sad', null] },
      tags: { type: 'array', items: { type: 'string', maxLength: 4 }, minItems: 1, maxItems: 2 },
    },
    required: ['name', 'age', 'mood', 'tags'],
    additionalProperties: false,
  };
  const personFormat = { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: person } };

  await check('response_format json_schema (strict): every answer that stops parses and validates', async () => {
    let stopped = 0;
    for (let seed = 1; seed <= 8; ++seed) {
      const completion = await client.chat.completions.create(
          { model: MODEL, messages: chatMessages, temperature: 1, seed, max_tokens: 400, response_format: personFormat });
      const [choice] = completion.choices;
      if (choice.finish_reason === 'length') continue;  // max_tokens may cut it: the one allowed invalid case
      assert.equal(choice.finish_reason, 'stop');
      validate(person, JSON.parse(choice.message.content));
      ++stopped;
    }
    assert.ok(stopped >= 6, `only ${stopped} of 8 answers ended before max_tokens`);
  });

  await check('response_format json_schema, streamed: the chunks add up to the same valid answer', async () => {
    const request = { model: MODEL, messages: chatMessages, temperature: 1, seed: 4, max_tokens: 400,
                      response_format: personFormat };
    const whole = (await client.chat.completions.create(request)).choices[0].message.content;
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(streamed, whole);
    validate(person, JSON.parse(streamed));
  });

  await check('chat.completions.parse with a zod schema: message.parsed is the object', async () => {
    // A pattern, not .max(): zod counts a string's length in UTF-16 units, JSON Schema (and so the server) in
    // characters, and a random model writes characters beyond the BMP.
    const Reading = z.object({ city: z.string().regex(/^[A-Z][a-z]{1,7}$/), celsius: z.number().int().min(-40).max(50),
                               sky: z.enum(['clear', 'cloudy']) });
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.parse({
        model: MODEL, messages: chatMessages, temperature: 1, seed, max_tokens: 400,
        response_format: zodResponseFormat(Reading, 'reading'),
      });
      const [choice] = completion.choices;
      assert.equal(choice.finish_reason, 'stop', choice.message.content);
      assert.deepEqual(Reading.parse(choice.message.parsed), choice.message.parsed);
    }
  });

  await check('response_format json_object: an object', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: chatMessages, temperature: 1,
                                                              seed: 9, max_tokens: 600,
                                                              response_format: { type: 'json_object' } });
    const [choice] = completion.choices;
    if (choice.finish_reason === 'stop') {
      const value = JSON.parse(choice.message.content);
      assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), choice.message.content);
    } else {
      assert.equal(choice.finish_reason, 'length');
      assert.ok(choice.message.content.startsWith('{'), choice.message.content);
    }
  });

  await check('an unsupported schema keyword is a BadRequestError naming the parameter and the keyword', async () => {
    const error = await expectApiError(
        client.chat.completions.create({ model: MODEL, messages: chatMessages, response_format: {
          type: 'json_schema', json_schema: { name: 'x', schema: { type: 'array', uniqueItems: true } } } }),
        BadRequestError, 400, 'uniqueItems');
    assert.equal(error.param, 'response_format.json_schema.schema');
    assert.match(error.message, /uniqueItems/);
  });

  await check('a wrong API key is an AuthenticationError (401)', async () => {
    const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong-key', maxRetries: 0, timeout: 30_000 });
    await expectApiError(wrong.models.list(), AuthenticationError, 401, 'models.list');
    await expectApiError(wrong.chat.completions.create(greedyChat), AuthenticationError, 401, 'chat');
  });

  await check('a prompt longer than the context is a BadRequestError (400)', async () => {
    const long = 'a '.repeat(5000);
    const error = await expectApiError(
        client.completions.create({ model: MODEL, prompt: long, max_tokens: 4 }), BadRequestError, 400, 'completions');
    assert.match(error.message, new RegExp(String(CONTEXT)), 'the message names the context length');
    await expectApiError(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: long }] }),
                         BadRequestError, 400, 'chat');
  });

  await check('an unknown model is a NotFoundError (404)', async () => {
    const error = await expectApiError(client.chat.completions.create({ ...greedyChat, model: 'nope' }),
                                       NotFoundError, 404, 'chat');
    assert.match(error.message, /nope/);
    await expectApiError(client.completions.create({ model: 'nope', prompt, max_tokens: 2 }), NotFoundError, 404,
                         'completions');
  });

  await check('a bad temperature is a BadRequestError naming the parameter', async () => {
    const error = await expectApiError(client.chat.completions.create({ ...greedyChat, temperature: 5 }),
                                       BadRequestError, 400, 'chat');
    assert.match(error.message, /temperature/);
    assert.equal(error.param, 'temperature');
    // A streaming request is refused the same way, before any stream.
    const streaming = await expectApiError(client.chat.completions.create({ ...greedyChat, temperature: 5, stream: true }),
                                           BadRequestError, 400, 'chat stream');
    assert.match(streaming.message, /temperature/);
  });

  await check('an aborted stream frees its sequence', async () => {
    const before = await getMetrics();
    const cancelledBefore = metricValue(before, 'ringserve_sequences_finished_total\\{outcome="cancelled"\\}');
    const abort = new AbortController();
    const stream = await client.chat.completions.create(
        { model: MODEL, messages: chatMessages, max_tokens: 2000, temperature: 1, seed: 5, stream: true,
          ignore_eos: true },
        { signal: abort.signal });
    let contentChunks = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) ++contentChunks;
        if (contentChunks === 3) abort.abort();
      }
    } catch (error) {
      // The SDK may end the iteration quietly or raise its abort error; both are fine.
      assert.ok(error?.name === 'AbortError' || error?.constructor?.name === 'APIUserAbortError',
                `unexpected error from the aborted stream: ${error}`);
    }
    assert.ok(abort.signal.aborted, `the stream ended by itself after ${contentChunks} content chunks, before the abort`);
    let running = null;
    let usage = null;
    let cancelled = null;
    const deadline = Date.now() + 2_000;
    do {
      const text = await getMetrics();
      running = metricValue(text, 'ringserve_num_requests_running');
      usage = metricValue(text, 'ringserve_kv_cache_usage_ratio');
      cancelled = metricValue(text, 'ringserve_sequences_finished_total\\{outcome="cancelled"\\}');
      if (running === 0 && usage === 0 && cancelled === cancelledBefore + 1) break;
      await sleep(50);
    } while (Date.now() < deadline);
    assert.equal(running, 0, 'ringserve_num_requests_running within 2 s of the abort');
    assert.equal(usage, 0, 'ringserve_kv_cache_usage_ratio within 2 s of the abort');
    assert.equal(cancelled, cancelledBefore + 1, 'the engine counted the request as cancelled');
    // And the server goes on serving.
    const after = await client.chat.completions.create(greedyChat);
    if (greedyContent !== null) assert.equal(after.choices[0].message.content, greedyContent);
  });
}

let fatal = null;
try {
  await main();
} catch (error) {
  fatal = error;
} finally {
  await stopServer();
}

const failed = results.filter((r) => !r.ok);
if (fatal || failed.length > 0) {
  if (fatal) console.log(`FAIL  setup: ${fatal?.stack || fatal}`);
  const tail = serverLog.split('\n').slice(-30).join('\n');
  console.log(`--- ringserve stderr (last lines) ---\n${tail}`);
  console.log(`FAILED: ${failed.length} of ${results.length} checks` +
              (failed.length ? `: ${failed.map((r) => r.name).join('; ')}` : '') + (fatal ? ' (and setup)' : ''));
  process.exit(1);
}
const sdkVersion = JSON.parse(readFileSync(path.join(here, 'node_modules', 'openai', 'package.json'), 'utf8')).version;
console.log(`PASSED: all ${results.length} OpenAI SDK checks (openai ${sdkVersion}, node ${process.versions.node})`);
process.exit(0);
