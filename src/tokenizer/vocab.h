// Tokenizer vocabulary as stored in GGUF `tokenizer.ggml.*` metadata (spec §6.3), plus loaders
// from GGUF and from a Hugging Face tokenizer.json, and a writer back to GGUF so that model
// generators (`bitnet synth`) and tools can copy a vocabulary into a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace bitnet {

class GgufFile;
class GgufWriter;

// GGUF token types (llama.cpp / SentencePiece convention). 0 (undefined) is read as NORMAL.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  // "gpt2": byte-level BPE (Llama 3 / 2B4T). "llama": SentencePiece-style (LLaMA-2 / 1bitLLM).
  std::string model;
  // tokenizer.ggml.pre. Empty = key absent; the official 2B4T GGUF has none, and byte-level BPE
  // then uses the Llama-3 pre-tokenizer (spec §6.3, pitfall 7).
  std::string pre;
  std::vector<std::string> tokens;    // token text; byte-level BPE tokens in the GPT-2 alphabet
  std::vector<int32_t> token_types;   // TokenType values, same length as tokens
  std::vector<float> scores;          // same length as tokens (SPM: log-probs; BPE: unused)
  std::vector<std::string> merges;    // BPE only: "left right", rank = index
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, pad_id = -1, unk_id = -1;  // -1 = none
  bool add_bos = true;                // both supported models prepend BOS by default
  bool add_eos = false;
  bool add_space_prefix = true;       // SPM only
  std::string chat_template;          // tokenizer.chat_template (may be empty)

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  TokenType type(int32_t id) const { return static_cast<TokenType>(token_types[static_cast<size_t>(id)]); }
  // Checks the invariants the tokenizer relies on (lengths, id ranges, type values).
  Status validate() const;
};

// Reads tokenizer.ggml.* from a GGUF (vocab-only or a full model). Missing token_type / scores
// default to NORMAL / 0; ids stored as 0xFFFFFFFF or negative mean "none".
Result<Vocab> vocab_from_gguf(const GgufFile& file);

// Writes every tokenizer.ggml.* key (and tokenizer.chat_template when set) of `vocab`.
void vocab_to_gguf(const Vocab& vocab, GgufWriter& writer);

// Writes a vocab-only GGUF (tokenizer keys only, no tensors) to `path`.
Status write_vocab_gguf(const Vocab& vocab, const std::string& path);

// Loads a Hugging Face tokenizer.json (byte-level BPE: model.vocab, model.merges as "a b" strings
// or [a, b] pairs, added_tokens). bos/eos/add_bos/chat_template come from `config_path`
// (tokenizer_config.json); when it is empty, a tokenizer_config.json next to `path` is used if
// present, otherwise <|begin_of_text|>/<|end_of_text|> and the post-processor are consulted.
Result<Vocab> vocab_from_tokenizer_json(const std::string& path, const std::string& config_path = {});

// Loads a vocabulary from a GGUF file, a tokenizer.json, or a directory holding tokenizer.json.
Result<Vocab> load_vocab(const std::string& path);

}  // namespace bitnet
