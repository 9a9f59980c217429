// Extracts the Llama 3 vocabulary, merges and special tokens from llama3-tokenizer-js (MIT) into
// a Hugging Face style tokenizer.json + tokenizer_config.json, which bitnet-cxx loads with
// vocab_from_tokenizer_json() and turns into a vocab-only GGUF (`bitnet export-vocab`).
//
// usage: node extract_vocab.mjs NPM_DIR OUTDIR
//   NPM_DIR: folder whose node_modules holds llama3-tokenizer-js (see prepare.sh)
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [npmDir, outDir] = process.argv.slice(2);
if (!npmDir || !outDir) {
  console.error('usage: node extract_vocab.mjs NPM_DIR OUTDIR');
  process.exit(2);
}
const bundle = path.join(npmDir, 'node_modules/llama3-tokenizer-js/bundle/llama3-tokenizer-with-baked-data.js');
const { default: tok } = await import(pathToFileURL(bundle).href);

// The split regex exactly as in Meta's / HF's tokenizer.json (the package's
// DIRTY_LLAMA3_REGEX_STRING); bitnet-cxx recognises it and selects its Llama-3 pre-tokenizer.
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const N_BASE = 128000;
const vocabById = tok.vocabById;
if (vocabById.length !== 128256) throw new Error(`expected 128256 tokens, got ${vocabById.length}`);

const vocab = {};
for (let id = 0; id < N_BASE; id++) {
  const t = vocabById[id];
  if (Object.prototype.hasOwnProperty.call(vocab, t)) throw new Error(`duplicate token ${JSON.stringify(t)}`);
  vocab[t] = id;
}

// tok.merges: Map "left right" -> priority, inserted in rank order (priority = 2*rank + 1).
const merges = [];
let lastPrio = -Infinity;
for (const [key, prio] of tok.merges) {
  if (!(prio > lastPrio)) throw new Error('merge priorities are not increasing in insertion order');
  lastPrio = prio;
  const sp = key.indexOf(' ', 1);
  merges.push([key.slice(0, sp), key.slice(sp + 1)]);
}

const added = [];
for (let id = N_BASE; id < vocabById.length; id++) {
  added.push({ id, content: vocabById[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
}

const bos = '<|begin_of_text|>';
const tokenizerJson = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: added,
  normalizer: null,
  pre_tokenizer: {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: LLAMA3_REGEX }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
           { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { [bos]: { id: bos, ids: [128000], tokens: [bos] } },
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges,
  },
};
const config = { bos_token: bos, eos_token: '<|end_of_text|>', add_bos_token: true, add_eos_token: false };

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
console.log(`extract_vocab: ${N_BASE} tokens + ${added.length} special, ${merges.length} merges -> ${outDir}/tokenizer.json`);
