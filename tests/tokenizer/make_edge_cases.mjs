// Writes tests/data/tokenizer_edge_cases.json: llama.cpp's token ids for edge-case
// strings on the vocabularies under ../shared, which tests/tokenizer/edge_cases_test.cc
// checks our Tokenizer::encode(text, false, parse_special) against, id for id.
//
//   cd /tmp/llamacheck && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install node-llama-cpp
//   cd /tmp/llamacheck && node /path/to/ringserve/tests/tokenizer/make_edge_cases.mjs
//
// node-llama-cpp is found from the working directory (or NODE_LLAMA_CPP, a path to
// its dist/index.js). Its model.tokenize(text, parse_special) is llama.cpp's
// common_tokenize(vocab, text, add_special = false, parse_special): no BOS/EOS.
// (node-llama-cpp may log "missing tensor 'token_embd.weight'" for the vocab-only
// files before loading them vocab-only: harmless.)
//
// What node cannot feed llama.cpp: a JS string is UTF-16, and node hands it over as
// UTF-8 with lone surrogates already turned into U+FFFD, so invalid UTF-8 never
// reaches llama.cpp from here. The "invalid_utf8" list holds byte strings (as hex)
// with the text llama.cpp makes of them before tokenizing a "gpt2" vocabulary
// (unicode_cpts_from_utf8: one U+FFFD for each byte that does not start a sequence
// it can decode); that text is also an ordinary case below, so its ids are
// llama.cpp's. The test checks that the bytes tokenize as that text does.
//
// 1 MiB inputs: the text is built from "megabyte.fragments" with a xorshift32
// stream (the test rebuilds it the same way); only the id count and an FNV-1a
// 64 hash of the ids (each as 4 little-endian bytes) are stored.
import {createRequire} from "node:module";
import {existsSync, readFileSync, writeFileSync} from "node:fs";
import {fileURLToPath, pathToFileURL} from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const shared = path.resolve(repo, "../shared");
const output = path.join(repo, "tests/data/tokenizer_edge_cases.json");

// node-llama-cpp's dist/index.js: NODE_LLAMA_CPP, else as installed under the working directory.
function nodeLlamaCppEntry() {
  if (process.env.NODE_LLAMA_CPP) return path.resolve(process.env.NODE_LLAMA_CPP);
  return createRequire(path.join(process.cwd(), "package.json")).resolve("node-llama-cpp");
}
const entry = nodeLlamaCppEntry();
const nlcVersion = JSON.parse(readFileSync(path.join(path.dirname(entry), "../package.json"), "utf8")).version;
const nlc = await import(pathToFileURL(entry).href);

// Paths under ../shared.
const vocabularies = [
  "tokenizers/llama2-vocab.gguf",
  "tokenizers/llama3.2-vocab.gguf",
  "tokenizers/smollm2-vocab.gguf",
  "tokenizers/ggml-vocab/ggml-vocab-gpt-2.gguf",
  "tokenizers/ggml-vocab/ggml-vocab-phi-3.gguf",
  "models/stories260K.gguf",
];

// ------------------------------------------------------------------ the texts

const spaces = n => " ".repeat(n);
const common = [
  // empty, whitespace runs, leading spaces, newlines and tabs
  "", " ", "  ", "   ", "    ", spaces(5), spaces(8), spaces(16), spaces(33),
  "\t", "\t\t", "\t\t\t\t", "\n", "\n\n", "\n\n\n", "\n\n\n\n\n", "\r\n", "\r\n\r\n", "\r", " \n", "\n ",
  " \t\n \t\n", "\t \t  \t   \n", "\u000b\u000c", " \u00a0 ", "\u00a0", "\u2003\u2009\u200a", "\u3000", "\u200b",
  "\ufeffBOM first", " Hello", "  Hello", "   Hello", "\tHello", "\nHello", "\n\nHello",
  "Hello", "Hello ", "Hello  ", "Hello\n", "Hello\n\n", "Hello world", "Hello  world", "Hello   world",
  "Hello\tworld", "Hello\nworld", "Hello\n\nworld", "Hello \n world", "a  b   c    d     e",
  "trailing spaces   ", "line one\nline two\r\nline three\n", "\tindented\n\t\tcode();\n",
  "def f(x):\n    return x * 2\n\n\nprint(f(3))\n", "    four-space indent", "x\n \n \n",
  // digits and long numbers
  "0", "1", "12", "123", "1234", "12345", "123456", "1234567", "1234567890",
  "3141592653589793238462643383279502884197169399375105820974944592307816406286",
  "00000000000", "1,000,000.50", "-42", "+7", "3.14e-10", "0x1F2E", "2024-01-15T13:45:00Z", "v1.2.3",
  "phone 555-0100", "1st 2nd 3rd 4th", "12abc34def", "١٢٣ ४५६ ７８９",
  // punctuation
  "Hello, world!", "...", "…", "?!?!", "!!!", "(a) [b] {c} <d>", "\"quoted\" 'single' `back`",
  "it's don't I'm we'll they've you'd she's", "IT'S DON'T", "#hashtag @mention $100 50% a&b *b* _u_ ~t~ ^|\\/",
  "— – - ‒ ―", "“smart quotes” ‘x’ «guillemets» „low“", "email@example.com https://example.com/p?q=1&r=2#f",
  "a.b,c;d:e!f?g", "<<>> [[]] {{}} </> <|> |<", "=>!= <= >= == === !== ->", "; ;; ;;;",
  // CJK and other scripts
  "日本語", "日本語のテキスト。", "中文测试，你好世界！", "한국어 텍스트", "漢字 かな カナ ｶﾅ",
  "Hello世界", "世界Hello", "สวัสดีครับ", "مرحبا بالعالم", "שלום עולם", "Привет, мир!", "Γειά σου Κόσμε",
  "नमस्ते दुनिया", "ஸ்ரீ", "ꦧꦱꦗꦮ", "𐍈𓀀", "﷽",
  // emoji, 4-byte and sequences
  "🙂", "🦙", "🙂🙂🙂🙂", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵🇺🇸", "❤️", "1️⃣", "emoji 🙂 in 🦙 text 🎉", "🫠🪿", "𝕳𝖊𝖑𝖑𝖔",
  // combining characters
  "e\u0301", "cafe\u0301", "café", "a\u0308\u0301", "Z\u0351\u0352\u0353\u0354", "n\u0303o", "\u0301",
  " \u0301", "\u0915\u094D\u0937", "\u1100\u1161\u11A8", "e\u0301\u0301\u0301\u0301\u0301",
  // U+FFFD written in the text (see invalid_utf8)
  "\ufffd", "\ufffd\ufffd\ufffd", "a\ufffd b",
  // special-token strings in user text: parsed only with parse_special
  "<s>", "</s>", "<unk>", "<s>Hello</s>", "Hello <s> world", "text</s>", "<s><s></s>", " <s> ", "\n</s>\n",
  "<|endoftext|>", "Hello<|endoftext|>world", "\n<|endoftext|>\n", "<|endoftext|><|endoftext|>",
  "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", " <|eot_id|> ", "<|eot_id|>\n\n",
  "<|user|>\nQuestion?<|end|>\n<|assistant|>\nAnswer<|end|>", "<|end|> after", "<|system|> \n  text",
  "partial <|eot_id| and <|im_start and <s", "<S> <<s>> <s >", "[PAD32011] [PAD]", "<0x0A> <0xFF>",
];

// llama.cpp's reading of bytes as code points before a "gpt2" vocabulary's
// regexes (unicode_cpts_from_utf8): the length the lead byte announces, each
// byte that does not start such a sequence becoming U+FFFD on its own.
function llamaCppCodePoints(bytes) {
  const cpts = [];
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const length = !(b & 0x80) ? 1 : !(b & 0x40) ? 0 : !(b & 0x20) ? 2 : !(b & 0x10) ? 3 : !(b & 0x08) ? 4 : 0;
    let ok = length > 0 && i + length <= bytes.length;
    for (let k = 1; ok && k < length; ++k) ok = (bytes[i + k] & 0xc0) === 0x80;
    if (!ok) {
      cpts.push(0xfffd);
      i += 1;
      continue;
    }
    const masks = [0, 0x7f, 0x1f, 0x0f, 0x07];
    let cp = b & masks[length];
    for (let k = 1; k < length; ++k) cp = (cp << 6) | (bytes[i + k] & 0x3f);
    cpts.push(cp);
    i += length;
  }
  return cpts;
}

// Invalid UTF-8 whose llama.cpp reading is text JSON and node can carry (no
// surrogates, nothing past U+10FFFF: on those llama.cpp keeps a surrogate, or
// throws "invalid codepoint").
const invalidHex = [
  "ff", "fe", "80", "bf", "c3", "e6", "e697", "f0", "f09f", "f09f98", "c0af", "c1bf", "f8888080 80", "fc",
  "61ff6220", "61c36220", "c3 61 62", "e2 82 20 e2 82 ac", "48656c6c6f c3 28 776f726c64", "f0 9f 98 41 42",
  "e6 97 a5 e6 97", "20 80 80 80 20", "f09f998220f09f99", "0a c3 0a", "3c 73 ff 3e", "3c 2f 73 3e e6",
].map(h => h.replaceAll(" ", ""));

const invalid = invalidHex.map(hex => {
  const bytes = Buffer.from(hex, "hex");
  const cpts = llamaCppCodePoints(bytes);
  if (cpts.some(cp => (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) throw new Error(`${hex}: not representable`);
  return {hex, llama_cpp_text: String.fromCodePoint(...cpts)};
});

// ---------------------------------------------------------- the 1 MiB text

const megabyte = {
  seed: 0x9e3779b9,
  target_bytes: 1 << 20,
  fragments: [
    "The quick brown fox jumps over the lazy dog. ", "Hello, world! ", "  ", "   ", "\t", "\n", "\n\n",
    "\r\n", "12345", "3.14159", " 2024-01-15 ", "1,000,000", "don't ", "it's ", "(parenthesized) ",
    "[brackets] ", "{\"json\": [1, 2, 3]} ", "def f(x):\n    return x\n", "日本語のテキスト。", "中文测试，",
    "한국어 ", "Привет, мир! ", "مرحبا ", "नमस्ते ", "🙂", "🦙 ", "👨‍👩‍👧‍👦", "🇯🇵", "café ", "cafe\u0301 ",
    "Z\u0351\u0352 ", "e\u0301\u0301", "\u00a0", "\u3000", "…", "“quoted” ", "\ufffd", "<s>", "</s>",
    "<|endoftext|>", "<|im_start|>user\n", "<|im_end|>\n", "<|eot_id|>", "<|start_header_id|>", "<|end|>\n",
    "<|user|>", "[PAD32011]", "<unk>", "<|", "|>", "<", ">", "word", "Word", "WORD", " a", " the", " of",
    "supercalifragilisticexpialidocious ", "aaaaaaaaaaaaaaaa", "----------------", "................",
  ],
};

// The text: fragments picked by a xorshift32 stream until target_bytes (UTF-8) are reached.
function megabyteText(recipe) {
  let state = recipe.seed >>> 0;
  const next = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  const pieces = [];
  let bytes = 0;
  while (bytes < recipe.target_bytes) {
    const fragment = recipe.fragments[next() % recipe.fragments.length];
    pieces.push(fragment);
    bytes += Buffer.byteLength(fragment, "utf8");
  }
  return pieces.join("");
}

// FNV-1a 64 over the bytes given, as 16 hex digits.
function fnv1a64(bytes) {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
const idBytes = ids => new Uint8Array(Uint32Array.from(ids).buffer);  // little-endian on every platform node runs on

// --------------------------------------------------------------- tokenizing

// Special tokens of the vocabulary worth writing into sentences: BOS, EOS and named
// control / user-defined / unknown tokens (not the hundreds of reserved ones).
async function specialsOf(file) {
  const info = await nlc.readGgufFileInfo(file);
  const ggml = info.metadata.tokenizer.ggml;
  const picked = new Set();
  for (const key of ["bos_token_id", "eos_token_id", "eot_token_id", "unknown_token_id"]) {
    if (ggml[key] != null && ggml[key] < ggml.tokens.length) picked.add(ggml.tokens[ggml[key]]);
  }
  ggml.token_type?.forEach((type, id) => {
    const text = ggml.tokens[id];
    if ((type === 2 || type === 3 || type === 4) && picked.size < 14 && !/reserved|placeholder|PAD/.test(text)) {
      picked.add(text);
    }
  });
  return [...picked].filter(text => text.length > 0);
}

function sentencesWith(special) {
  return [special, `Hello ${special} world`, `${special}\n`, `\n${special} text`, ` ${special} `,
          `a${special}b${special}c`, `${special}  two spaces after`];
}

const llama = await nlc.getLlama({gpu: false, build: "never", logLevel: nlc.LlamaLogLevel.error});
const json = {
  generator: "tests/tokenizer/make_edge_cases.mjs",
  reference: `llama.cpp ${llama.llamaCppRelease.release} (prebuilt, node-llama-cpp ${nlcVersion}): ` +
             "common_tokenize(vocab, text, add_special = false, parse_special)",
  cases: [],
  invalid_utf8: invalid,
  megabyte: {...megabyte, bytes: 0, text_fnv1a64: ""},
  megabyte_cases: [],
};

const bigText = megabyteText(megabyte);
json.megabyte.bytes = Buffer.byteLength(bigText, "utf8");
json.megabyte.text_fnv1a64 = fnv1a64(Buffer.from(bigText, "utf8"));

for (const vocab of vocabularies) {
  const file = path.join(shared, vocab);
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  const model = await llama.loadModel({modelPath: file, vocabOnly: true});
  const texts = [...common, ...invalid.map(c => c.llama_cpp_text)];
  for (const special of await specialsOf(file)) texts.push(...sentencesWith(special));
  const seen = new Set();
  for (const text of texts) {
    if (seen.has(text)) continue;
    seen.add(text);
    // Special-token parsing can only matter where a special token could be: both ways there.
    const flags = /[<[]/.test(text) ? [false, true] : [false];
    for (const parse_special of flags) {
      json.cases.push({vocab, parse_special, text, ids: Array.from(model.tokenize(text, parse_special))});
    }
  }
  for (const parse_special of [false, true]) {
    const ids = Array.from(model.tokenize(bigText, parse_special));
    json.megabyte_cases.push({vocab, parse_special, count: ids.length, ids_fnv1a64: fnv1a64(idBytes(ids))});
  }
  await model.dispose();
}
await llama.dispose();

// One case per line: reviewable diffs when the reference changes.
const lines = [
  "{",
  `  "generator": ${JSON.stringify(json.generator)},`,
  `  "reference": ${JSON.stringify(json.reference)},`,
  `  "megabyte": ${JSON.stringify(json.megabyte)},`,
  `  "megabyte_cases": [\n${json.megabyte_cases.map(c => "    " + JSON.stringify(c)).join(",\n")}\n  ],`,
  `  "invalid_utf8": [\n${json.invalid_utf8.map(c => "    " + JSON.stringify(c)).join(",\n")}\n  ],`,
  `  "cases": [\n${json.cases.map(c => "    " + JSON.stringify(c)).join(",\n")}\n  ]`,
  "}",
];
writeFileSync(output, lines.join("\n") + "\n");
console.log(`${output}: ${json.cases.length} cases, ${json.megabyte_cases.length} megabyte cases, ` +
            `${json.invalid_utf8.length} invalid UTF-8 inputs`);
