// Generates the tokenizer parity corpus: >= 2000 deterministic test strings and, for each, the
// token ids llama3-tokenizer-js produces. Also records the package's own test cases.
//
// usage: node gen_corpus.mjs NPM_DIR OUTDIR
// writes OUTDIR/corpus.jsonl and OUTDIR/package_tests.jsonl, one JSON object per line:
//   corpus:  {"cat", "hex" (UTF-8 bytes), "bos", "check": "ids"|"roundtrip", "ids"?, "note"?}
//   package: {"kind": "encode", "hex", "bos", "eos", "ids"} | {"kind": "decode", "ids", "hex"}
//
// Two things about the reference that the corpus works around (and documents per entry):
//  1. The package ranks merges as `priority + origPos / prompt.length`, where priorities are
//     2 apart. When a piece has more bytes than twice the prompt's UTF-16 length (short, mostly
//     CJK or emoji prompts) the position term could in principle outrank a better merge, which
//     is not BPE. We therefore ask for the expected ids with enough "<|eot_id|>" appended that
//     the term stays below 2, and strip those ids again: a special token is split off before
//     pre-tokenization, so it changes nothing else. Entries where the plain call differs carry
//     note "js-prio-quirk" (none so far, here or on 40k random short CJK/emoji strings).
//  2. JS regex `\s` includes U+FEFF and excludes U+0085; Unicode White_Space (tiktoken, HF,
//     llama.cpp, bitnet-cxx) is the other way round. Strings with those characters, and strings
//     with invalid UTF-8 (a JS string cannot hold them), are checked for round trip only.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [npmDir, outDir] = process.argv.slice(2);
if (!npmDir || !outDir) {
  console.error('usage: node gen_corpus.mjs NPM_DIR OUTDIR');
  process.exit(2);
}
const bundle = path.join(npmDir, 'node_modules/llama3-tokenizer-js/bundle/llama3-tokenizer-with-baked-data.js');
const { default: tok } = await import(pathToFileURL(bundle).href);

// ---- deterministic PRNG (mulberry32) ----
let seed = 0x5eed1234;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));  // inclusive
const pick = (a) => a[Math.floor(rand() * a.length)];
const cp = (...c) => String.fromCodePoint(...c);
const range = (lo, hi) => ({ lo, hi });
const fromRanges = (rs, n) => {
  let s = '';
  for (let i = 0; i < n; i++) { const r = pick(rs); s += cp(ri(r.lo, r.hi)); }
  return s;
};

// ---- material ----
const WORDS = (`the of and to in is was that for it with as his on be at by had are but from or have an they which one you
were her all she there would their we him been has when who will more no if out so said what up its about into than
them can only other new some could time these two may then do first any my now such like our over man me even most
made after also did many before must through back years where much your way well down should because each just those
people how too little state good very make world still own see men work long get here between both life being under never
day same another know while last might us great old year off come since against go came right used take three
tokenizer llama merge vocabulary byte encoding decode ternary BitNet inference kernel matrix quantization activation
Hello World Paris London Tokyo Berlin Monday January JavaScript Python CMake GitHub Wikipedia OpenAI Microsoft NVIDIA
don't can't won't it's I'm you're we've they'll she'd isn't aren't wasn't shouldn't couldn't y'all o'clock rock'n'roll
naïve café résumé coöperate façade jalapeño São Zürich Ångström Øresund Łódź straße Ἀθῆναι Москва Київ`).split(/\s+/);
const PUNCT = ['.', ',', '!', '?', ';', ':', '...', ' -', ' —', ' –', '"', "'", '(', ')', '[', ']', '{', '}', '/', '&', '%', '#', '@', '*'];
const PROSE = [
  `The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs! How vexingly quick daft zebras jump?`,
  `It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness...`,
  `In 1969, Apollo 11 landed on the Moon; Neil Armstrong said: "That's one small step for [a] man, one giant leap for mankind."`,
  `Dear Sir/Madam,\n\nI'm writing to follow up on invoice #4521 (dated 03/14/2023) for $12,345.67. Please advise.\n\nRegards,\nJ. Doe`,
  `BitNet b1.58 uses ternary weights {-1, 0, +1} and 8-bit activations; the 2B4T model has 30 layers, 2560 hidden units and a 128,256-token vocabulary.`,
  `Q: What's the capital of France?\nA: Paris.\nQ: And of Germany?\nA: Berlin — though Bonn was the capital of West Germany until 1990.`,
  `"Well," she said, "I'd rather not." He'd already left; they'll never know what we've done, and you're not going to tell them.`,
  `HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 42\r\n\r\n{"ok":true}`,
  `Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.`,
  `THE END. THE END? the end! The End... IT'S OVER, ISN'T IT? YOU'LL SEE, WE'VE WON, THEY'D SAY, I'M SURE.`,
  `Temperatures ranged from -40°C to +52.3°C (−40 °F to 126 °F); about 7.8 billion people, ≈ 60% in Asia, ≥ 1/3 urban.`,
  `Email me at first.last+tag@example.co.uk or visit https://www.example.org/path/to/page?query=1&x=y#frag — thanks!`,
];
const CODE = [
  `#include <cstdio>\n\nint main(int argc, char** argv) {\n  for (int i = 0; i < argc; ++i) std::printf("%s\\n", argv[i]);\n  return 0;\n}\n`,
  `def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n`,
  `const add = (a, b) => a + b;\nexport default function sum(xs) {\n\treturn xs.reduce(add, 0);\n}\n// TODO: handle NaN\n`,
  `fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!("{:?}", v);\n}\n`,
  `{\n  "name": "bitnet",\n  "version": "0.1.0",\n  "dependencies": {"pcre2": ">=10.34", "nlohmann_json": "^3.10"},\n  "list": [1, 2.5, -3e10, null, true]\n}`,
  `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Test &amp; more</title></head>\n<body><p class='x'>Hi&nbsp;there</p></body>\n</html>\n`,
  `#!/usr/bin/env bash\nset -euo pipefail\nfor f in "$@"; do\n  [[ -f "$f" ]] && wc -l -- "$f" | awk '{print $1}'\ndone 2>/dev/null\n`,
  `SELECT u.id, COUNT(*) AS n\nFROM users u\nJOIN orders o ON o.user_id = u.id\nWHERE o.created_at >= '2024-01-01'\nGROUP BY u.id\nHAVING n > 10;\n`,
  `template <typename T>\nstruct Vec3 { T x{}, y{}, z{}; T dot(const Vec3& o) const noexcept { return x*o.x + y*o.y + z*o.z; } };\n`,
  `    if (x != nullptr && x->size() >= 0x7fffffff) {\n        throw std::out_of_range("too big: " + std::to_string(x->size()));\n    }\n`,
  `matrix = [[1, 2, 3],\n          [4, 5, 6]]\nprint(f"{matrix[0][1]:>8.3f} | {sum(map(sum, matrix))}")\n`,
  `$ git log --oneline | head -3\n7ceeaa6 bench/ and fuzz/ build glue\n3afdcb5 gguf_test: truncation test\n`,
  `\tmov eax, [rbp-0x14]\n\tvpdpbusd zmm0, zmm1, zmm2\n\tret\n`,
  `% LaTeX\n\\begin{equation}\n  E = mc^2 \\quad \\sum_{i=1}^{n} x_i^2 \\leq \\frac{1}{2}\n\\end{equation}\n`,
];
const IDENT = ['foo', 'bar', 'baz', 'x', 'y', 'idx', 'buffer_size', 'kMaxLen', 'HTTPServer', 'getValue', 'snake_case_name', '__init__', 'T', 'std', 'vec', 'i32', 'u8', 'self', 'this', 'nullptr'];
const OPS = ['=', '==', '!=', '<=', '>=', '->', '=>', '::', '&&', '||', '+=', '-=', '<<', '>>', '++', '--', '...', '?', ':', ';', ',', '.', '(', ')', '{', '}', '[', ']', '<', '>', '*', '&', '|', '^', '~', '!', '%', '/', '//', '/*', '*/', '#', '@', '$', '\\'];
const WS_ALL = [' ', ' ', ' ', '\t', '\n', '\r\n', '\r', '\u000b', '\u000c', '\u00a0', '\u1680', '\u2000', '\u2003', '\u2009', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000'];
const EMOJI = ['😀', '😂', '🦙', '👍', '👍🏽', '❤️', '🔥', '🎉', '🚀', '🤖', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷', '🇯🇵', '☕', '✨', '🧑🏿‍💻', '🙈', '🌍', '🍕', '1️⃣', '#️⃣', '©️', '™', '🫠', '🥲'];
const CJK_TEXT = ['我们今天去公园散步。', '机器学习模型需要大量数据。', '東京は日本の首都です。', 'これはテストです、よろしくお願いします！', '한국어 문장도 포함합니다.', '人工知能（AI）と自然言語処理', '北京欢迎你', '镇', '龍之介は「羅生門」を書いた。', '「こんにちは」と言った', '中文，标点；测试：“引号”（括号）'];
const OTHER_SCRIPTS = ['مرحبا بالعالم', 'اللغة العربية جميلة ١٢٣٤٥', 'שלום עולם', 'नमस्ते दुनिया, यह एक परीक्षण है।', 'สวัสดีครับ ภาษาไทย ๑๒๓', 'Привет, мир! Это тест.', 'Γειά σου Κόσμε', 'Ελληνικά: ΑΒΓΔ αβγδ', 'Tiếng Việt có dấu: Hà Nội, Đà Nẵng', 'ქართული ენა', 'Հայերեն', 'অসমীয়া বাংলা', 'தமிழ் மொழி', 'ᚠᚢᚦᚨᚱᚲ', 'ⲀⲂⲄ'];

// Code point ranges whose L/N/whitespace classification is the same in PCRE2 10.42 (Unicode 14)
// and Node (newer Unicode): long-established blocks only. Symbols/emoji may be anything.
const R_LATIN = [range(0x41, 0x5a), range(0x61, 0x7a), range(0xc0, 0xff), range(0x100, 0x17f), range(0x180, 0x24f)];
const R_LETTERS = [...R_LATIN, range(0x391, 0x3a9), range(0x3b1, 0x3c9), range(0x410, 0x44f), range(0x5d0, 0x5ea),
  range(0x621, 0x64a), range(0x905, 0x939), range(0xe01, 0xe2e), range(0x3041, 0x3096), range(0x30a1, 0x30fa),
  range(0x4e00, 0x9fa5), range(0xac00, 0xd7a3), range(0x10330, 0x1034a), range(0x1d400, 0x1d44f), range(0x20000, 0x2a6d6)];
const R_DIGITS = [range(0x30, 0x39), range(0x660, 0x669), range(0x966, 0x96f), range(0xe50, 0xe59), range(0xff10, 0xff19),
  range(0xb2, 0xb3), range(0xbc, 0xbe), range(0x2160, 0x2182), range(0x2460, 0x249b), range(0x1d7ce, 0x1d7ff)];
const R_MARKS = [range(0x300, 0x36f), range(0x64b, 0x652), range(0x93e, 0x94c), range(0xe31, 0xe3a), range(0x20d0, 0x20f0)];
const R_SYMBOLS = [range(0x21, 0x2f), range(0x3a, 0x40), range(0x5b, 0x60), range(0x7b, 0x7e), range(0xa1, 0xbf),
  range(0x2010, 0x2027), range(0x2030, 0x205e), range(0x20a0, 0x20bf), range(0x2190, 0x21ff), range(0x2200, 0x22ff),
  range(0x2500, 0x257f), range(0x2600, 0x26ff), range(0x1f300, 0x1f64f), range(0x1f680, 0x1f6c5), range(0x1f900, 0x1f9ff),
  range(0xff01, 0xff0f), range(0x3000, 0x303f), range(0xe000, 0xe0ff)];
const R_CONTROL = [range(0x00, 0x08), range(0x0e, 0x1f), range(0x7f, 0x84), range(0x86, 0x9f),
  range(0x200b, 0x200f), range(0x2060, 0x2064), range(0x180e, 0x180e)];
const R_WS = [range(0x20, 0x20), range(0x09, 0x0d), range(0xa0, 0xa0), range(0x1680, 0x1680), range(0x2000, 0x200a),
  range(0x2028, 0x2029), range(0x202f, 0x202f), range(0x205f, 0x205f), range(0x3000, 0x3000)];
const R_ANY = [...R_LETTERS, ...R_LETTERS, ...R_DIGITS, ...R_MARKS, ...R_SYMBOLS, ...R_WS, ...R_WS, ...R_CONTROL];

const SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
  '<|eom_id|>', '<|python_tag|>', '<|finetune_right_pad_id|>', '<|reserved_special_token_0|>', '<|reserved_special_token_247|>',
  '<|reserved_special_token_100|>'];
const LOOKALIKES = ['<|eot_id|', '|eot_id|>', '<|eot_id >', '< |eot_id|>', '<|EOT_ID|>', '<|eot_id||>', '<<|eot_id|>>', '<||>', '<|>',
  '<|reserved_special_token_248|>', '<|reserved_special_token_251|>', '<|reserved_special_token_00|>', '<|begin_of_text',
  '<|end_of_text|', '<s>', '</s>', '[INST]', '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<|eot_id|><|eot_id|>', '<|<|eot_id|>|>', '<|start_header_id|>user<|end_header_id|>'];

// ---- corpus assembly ----
const entries = [];  // {cat, str?: string, bytes?: Buffer}
const add = (cat, str) => entries.push({ cat, str });
const addBytes = (cat, bytes) => entries.push({ cat, bytes: Buffer.from(bytes) });

function sentence() {
  const n = ri(3, 18);
  let s = '';
  for (let i = 0; i < n; i++) {
    let w = pick(WORDS);
    if (i === 0 || rand() < 0.08) w = w[0].toUpperCase() + w.slice(1);
    if (rand() < 0.04) w = w.toUpperCase();
    s += (i ? ' ' : '') + w;
    if (rand() < 0.12) s += pick(PUNCT);
  }
  return s + pick(['.', '.', '!', '?', '...', '', ':']);
}

// 1. prose
for (const p of PROSE) add('prose', p);
for (let i = 0; i < 420; i++) {
  let s = sentence();
  while (rand() < 0.4) s += pick([' ', '  ', '\n', '\n\n', ' \n']) + sentence();
  add('prose', s);
}
// contractions in all casings, and apostrophe edge cases
for (const c of ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE", "'M", "'LL", "'lL", "'D", "'x", "'", "''", "'ſ", "'ſt"]) {
  add('contraction', `it${c}`); add('contraction', c); add('contraction', ` ${c} `); add('contraction', `${c}${c}abc`); add('contraction', `don${c}t 12${c}`);
}
// 2. code
for (const c of CODE) add('code', c);
for (let i = 0; i < 300; i++) {
  let s = ' '.repeat(pick([0, 0, 2, 4, 8])) + (rand() < 0.2 ? '\t' : '');
  const n = ri(2, 25);
  for (let k = 0; k < n; k++) {
    const r = rand();
    if (r < 0.45) s += pick(IDENT);
    else if (r < 0.8) s += pick(OPS);
    else if (r < 0.9) s += String(ri(0, 100000));
    else s += pick(['"str"', "'c'", '"a\\nb"', '0x1F', '1e-9', '3.14f']);
    if (rand() < 0.5) s += ' ';
    if (rand() < 0.06) s += '\n' + ' '.repeat(pick([0, 2, 4, 4, 8, 12])) + (rand() < 0.2 ? '\t\t' : '');
  }
  add('code', s);
}
// 3. digits
for (let i = 0; i < 220; i++) {
  const r = rand();
  let s;
  if (r < 0.3) s = Array.from({ length: ri(1, 40) }, () => ri(0, 9)).join('');
  else if (r < 0.45) s = ri(0, 1e9).toLocaleString('en-US') + pick(['', '.', '.5', '.00', '%']);
  else if (r < 0.6) s = `${ri(1900, 2100)}-${String(ri(1, 12)).padStart(2, '0')}-${String(ri(1, 28)).padStart(2, '0')}T${ri(0, 23)}:${ri(10, 59)}:${ri(10, 59)}Z`;
  else if (r < 0.7) s = `+1 (${ri(200, 999)}) ${ri(200, 999)}-${ri(1000, 9999)}`;
  else if (r < 0.85) s = Array.from({ length: ri(2, 8) }, () => pick(['abc', 'x', 'Q', '_', '']) + ri(0, 99999)).join('');
  else s = fromRanges(R_DIGITS, ri(1, 12)) + (rand() < 0.5 ? ' ' + fromRanges(R_DIGITS, ri(1, 7)) : '');
  add('digits', s);
}
// 4. whitespace
for (let i = 0; i < 320; i++) {
  let s = '';
  const n = ri(1, 12);
  for (let k = 0; k < n; k++) {
    const w = Array.from({ length: ri(1, 6) }, () => pick(WS_ALL)).join('');
    s += rand() < 0.3 ? w.repeat(ri(1, 5)) : w;
    if (rand() < 0.7) s += pick([pick(WORDS), String(ri(0, 999)), pick(PUNCT), pick(EMOJI), '中文']);
  }
  add('whitespace', s);
}
for (const w of [' ', '  ', '\t', '\n', '\n\n', '\r\n', ' \n', '\n ', ' \t\n', '   a', 'a   ', ' a ', '\ta\t', '\u00a0', '\u3000x', 'x\u2028y', '\t\t\t\t', ' \r\n \r\n']) add('whitespace', w);
// 5. emoji
for (let i = 0; i < 160; i++) {
  let s = '';
  const n = ri(1, 10);
  for (let k = 0; k < n; k++) s += pick(EMOJI) + (rand() < 0.4 ? pick([' ', '', '!', 'ok', '\n', ' hi']) : '');
  add('emoji', s);
}
// 6. CJK / 7. other scripts
for (const t of CJK_TEXT) add('cjk', t);
for (let i = 0; i < 260; i++) {
  const rs = pick([[range(0x4e00, 0x9fa5)], [range(0x3041, 0x3096), range(0x30a1, 0x30fa), range(0x4e00, 0x9fa5)], [range(0xac00, 0xd7a3)], [range(0x20000, 0x2a6d6), range(0x4e00, 0x9fa5)]]);
  let s = fromRanges(rs, ri(1, 30));
  if (rand() < 0.5) s = pick(CJK_TEXT) + (rand() < 0.5 ? ' ' : '') + s;
  if (rand() < 0.3) s += pick(['。', '，', '！', '？', ' ', 'abc', '123', '、']) + fromRanges(rs, ri(1, 10));
  add('cjk', s);
}
for (const t of OTHER_SCRIPTS) add('scripts', t);
for (let i = 0; i < 200; i++) {
  const rs = pick([[range(0x621, 0x64a), range(0x64b, 0x652)], [range(0x5d0, 0x5ea)], [range(0x905, 0x939), range(0x93e, 0x94c)],
    [range(0xe01, 0xe2e), range(0xe31, 0xe3a)], [range(0x410, 0x44f)], [range(0x391, 0x3a9), range(0x3b1, 0x3c9)]]);
  let s = '';
  const words = ri(1, 8);
  for (let k = 0; k < words; k++) s += (k ? pick([' ', ' ', ', ', '. ', '\n']) : '') + fromRanges(rs, ri(1, 9));
  if (rand() < 0.3) s = pick(OTHER_SCRIPTS) + ' ' + s;
  add('scripts', s);
}
// 8. combining marks
for (let i = 0; i < 160; i++) {
  let s = '';
  const n = ri(1, 8);
  for (let k = 0; k < n; k++) {
    s += fromRanges(R_LATIN, ri(1, 4)) + fromRanges([range(0x300, 0x36f)], ri(1, rand() < 0.2 ? 12 : 3));
    if (rand() < 0.4) s += ' ';
  }
  add('combining', rand() < 0.3 ? s.normalize('NFD') : s);
}
for (const t of ['e\u0301', 'cafe\u0301', 'n\u0303o', ' \u0301', '\u0301\u0301abc', 'Z̸̢̛͓̝a̷l̶g̵o̴', 'a\u20dd', '1\u20e3']) add('combining', t);
// 11. special-token look-alikes (the package always parses special tokens; we pass parse_special)
for (const s of [...SPECIALS, ...LOOKALIKES]) { add('special', s); add('special', `a${s}b`); add('special', ` ${s} `); }
for (let i = 0; i < 120; i++) {
  let s = '';
  const n = ri(1, 6);
  for (let k = 0; k < n; k++) s += pick([sentence(), pick(SPECIALS), pick(LOOKALIKES), '\n', ' ', pick(WORDS)]);
  add('special', s);
}
// 12. random mixtures of everything
for (let i = 0; i < 320; i++) add('random', fromRanges(R_ANY, ri(1, 60)));
// 10. very long words and runs
const longs = [
  'a'.repeat(5000), 'ab'.repeat(3000), 'x'.repeat(20000), 'Supercalifragilisticexpialidocious'.repeat(200),
  '1'.repeat(3001), '1234567890'.repeat(400), ' '.repeat(5000), ' '.repeat(4999) + 'x', '\n'.repeat(3000), '\t'.repeat(2000) + 'end',
  ' \n'.repeat(1500), '!'.repeat(4000), '=-'.repeat(2000), '镇'.repeat(3000), '中文测试'.repeat(1000), '🦙'.repeat(2000),
  'é'.repeat(3000), 'e\u0301'.repeat(2000), 'Ж'.repeat(4000), 'ا'.repeat(3000), '<|eot_id|>'.repeat(500), '<|'.repeat(3000),
  "'s".repeat(2000), 'https://example.com/' + 'a/'.repeat(3000),
];
for (const s of longs) add('long', s);
for (let i = 0; i < 24; i++) add('long', fromRanges(pick([R_LATIN, R_LETTERS, [range(0x4e00, 0x9fa5)], R_SYMBOLS]), ri(2000, 12000)));
// JS-divergent whitespace semantics: round trip only
for (const s of ['\ufeff', 'a\ufeffb', '\ufeffHello', ' \ufeff ', '\u0085', 'a\u0085b', 'x \u0085\u0085 y', '\u0085\n', 'line1\u0085line2'])
  add('js-ws-divergent', s);
// 9. invalid UTF-8 (round trip only: a JS string cannot hold these bytes)
const INVALID = [[0xff], [0xfe, 0xff], [0x80], [0xbf, 0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80], [0xc3], [0xe4, 0xb8], [0xf0, 0x9f, 0xa6], [0xc3, 0x28], [0xe2, 0x28, 0xa1], [0xf8, 0x88, 0x80, 0x80, 0x80]];
for (let i = 0; i < 170; i++) {
  const parts = [];
  const n = ri(1, 6);
  for (let k = 0; k < n; k++) {
    const r = rand();
    if (r < 0.4) parts.push(Buffer.from(pick([sentence(), pick(CJK_TEXT), pick(EMOJI), ' ', '\n', pick(WORDS)]), 'utf8'));
    else if (r < 0.7) parts.push(Buffer.from(pick(INVALID)));
    else if (r < 0.85) parts.push(Buffer.from(Array.from({ length: ri(1, 8) }, () => ri(0x80, 0xff))));
    else { const b = Buffer.from(pick(CJK_TEXT) + pick(EMOJI), 'utf8'); parts.push(b.subarray(0, ri(1, b.length - 1))); }
  }
  addBytes('invalid-utf8', Buffer.concat(parts));
}
for (const b of INVALID) addBytes('invalid-utf8', b);

// ---- expected ids ----
const EOT = 128009;
function expected(str, bos) {
  // See note 1 at the top: pad with <|eot_id|> so origPos / prompt.length < 2, then strip.
  const bytes = Buffer.byteLength(str, 'utf8');
  const k = Math.ceil((2 * bytes) / 10) + 1;
  const ids = tok.encode(str + '<|eot_id|>'.repeat(k), { bos, eos: false });
  for (let i = 0; i < k; i++) {
    if (ids.pop() !== EOT) throw new Error('padding ids missing');
  }
  return ids;
}
const lines = [];
const stats = {};
let quirk = 0;
for (const e of entries) {
  const bos = rand() < 0.2;
  const rec = { cat: e.cat, bos };
  stats[e.cat] = (stats[e.cat] || 0) + 1;
  if (e.bytes) {
    rec.hex = e.bytes.toString('hex');
    rec.check = 'roundtrip';
    rec.note = 'invalid UTF-8: not representable in a JS string';
  } else {
    if (Buffer.from(Buffer.from(e.str, 'utf8').toString('utf8'), 'utf8').toString('utf8') !== e.str) throw new Error('lone surrogate in corpus');
    rec.hex = Buffer.from(e.str, 'utf8').toString('hex');
    if (e.cat === 'js-ws-divergent') {
      rec.check = 'roundtrip';
      rec.note = 'JS \\s differs from Unicode White_Space for U+FEFF/U+0085';
    } else {
      rec.check = 'ids';
      rec.ids = expected(e.str, bos);
      const plain = tok.encode(e.str, { bos, eos: false });
      if (plain.length !== rec.ids.length || plain.some((x, i) => x !== rec.ids[i])) {
        rec.note = 'js-prio-quirk';
        rec.js_plain_ids = plain;
        quirk++;
      }
    }
  }
  lines.push(JSON.stringify(rec));
}
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'corpus.jsonl'), lines.join('\n') + '\n');

// ---- the package's own tests, recorded through a proxy ----
const recs = [];
const proxy = {
  encode(s, opts) {
    const ids = tok.encode(s, opts);
    const o = opts || { bos: true, eos: true };
    recs.push({ kind: 'encode', hex: Buffer.from(s, 'utf8').toString('hex'), bos: !!o.bos, eos: !!o.eos, ids });
    return ids;
  },
  decode(ids) {
    const s = tok.decode(ids);
    recs.push({ kind: 'decode', ids, hex: Buffer.from(s, 'utf8').toString('hex') });
    return s;
  },
  optimisticCount: (s) => tok.optimisticCount(s),
};
const origLog = console.log;
console.log = () => {};
try {
  tok.defaultTests(proxy);
} finally {
  console.log = origLog;
}
fs.writeFileSync(path.join(outDir, 'package_tests.jsonl'), recs.map((r) => JSON.stringify(r)).join('\n') + '\n');

console.log(`gen_corpus: ${entries.length} strings (${Object.entries(stats).map(([k, v]) => `${k} ${v}`).join(', ')}); ` +
  `${quirk} where the package's unpadded call differs (js-prio-quirk); ${recs.length} package test records`);
