// Text <-> token ids for the two vocabulary kinds BitNet models ship with:
//  * byte-level BPE (tokenizer.ggml.model = "gpt2"), Llama-3 rules: 2B4T (spec §6.1-6.4)
//  * SentencePiece-style (tokenizer.ggml.model = "llama"): 1bitLLM models (spec §6.6)
// plus a streaming Detokenizer for printing generated tokens as they arrive.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/vocab.h"

namespace bitnet {

class BpeModel;
class SpmModel;
class SpecialMatcher;
class StringIdMap;

class Tokenizer {
 public:
  // Copies `vocab`; fails with a clear Status if it cannot be tokenized with (e.g. a byte-level
  // vocabulary without all 256 byte tokens, an unknown pre-tokenizer).
  static Result<std::unique_ptr<Tokenizer>> create(const Vocab& vocab);
  static Result<std::unique_ptr<Tokenizer>> create(Vocab&& vocab);  // avoids copying ~400k strings
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Total for any byte string (invalid UTF-8 included); decode(encode(x, false, false)) == x.
  // add_bos: prepend BOS (if the vocabulary has one); callers usually pass add_bos_default().
  // parse_special: recognise CONTROL tokens (e.g. "<|eot_id|>") written in the text. Only do
  // this for trusted text (chat templates), never for raw user input. USER_DEFINED tokens are
  // always recognised, as in HF and llama.cpp. Thread-safe.
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;

  // Concatenated raw bytes of the tokens (may be invalid UTF-8 for arbitrary id sequences).
  // render_special=false drops control/unknown/unused tokens (like HF skip_special_tokens).
  // SentencePiece: the space that add_space_prefix put in front of the text is removed.
  // Ids must be in [0, n_vocab()) (checked).
  std::string decode(std::span<const int32_t> ids, bool render_special = true) const;

  // Raw bytes of one token: byte-decoded text for BPE, "▁"->" " and <0xNN> -> byte for SPM,
  // the literal text for control tokens. Id must be in range (checked).
  const std::string& token_to_piece(int32_t id) const;

  // End of generation: EOS, EOT (<|eot_id|>; from tokenizer.ggml.eot_token_id, or found by name)
  // and <|end_of_text|> / <|eom_id|> when present as control tokens (spec §6.2, pitfall 9).
  bool is_eog(int32_t id) const;
  // Control / unknown / unused token: not text, hidden when render_special is false.
  bool is_special(int32_t id) const;

  int32_t n_vocab() const { return vocab_.size(); }
  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }
  int32_t eot_id() const { return eot_id_; }
  bool add_bos_default() const { return vocab_.add_bos; }
  bool is_byte_level() const { return bpe_ != nullptr; }
  // Id of the token whose stored text is exactly `text` (GGUF spelling), or -1.
  int32_t token_id(std::string_view text) const;
  const Vocab& vocab() const { return vocab_; }
  // Whether the BPE pre-tokenizer regex runs JIT-compiled (for benchmarks / diagnostics).
  bool regex_jit() const;

 private:
  Tokenizer();
  Status init();

  Vocab vocab_;
  std::vector<std::string> pieces_;  // raw bytes per id
  std::vector<uint8_t> special_;     // 1 if is_special(id)
  std::vector<int32_t> eog_;
  int32_t eot_id_ = -1;
  std::unique_ptr<StringIdMap> text_to_id_;  // views into vocab_.tokens
  std::unique_ptr<SpecialMatcher> specials_;
  std::unique_ptr<BpeModel> bpe_;
  std::unique_ptr<SpmModel> spm_;
};

// Streams token pieces as printable text: bytes of an incomplete UTF-8 sequence at the end are
// held back until the sequence completes (or flush()), so a multi-byte character split over
// several tokens is never printed in halves. Bytes that can never become valid UTF-8 are passed
// through unchanged, so concat(push(...)...) + flush() == tokenizer.decode(ids, render_special).
class Detokenizer {
 public:
  explicit Detokenizer(const Tokenizer& tok, bool render_special = false)
      : tok_(tok), render_special_(render_special) {}
  // Text that is safe to print after token `id` (possibly empty).
  std::string push(int32_t id);
  // Whatever is still held back (an incomplete sequence at the end of the stream).
  std::string flush();
  void reset() { pending_.clear(); started_ = false; }

 private:
  const Tokenizer& tok_;
  bool render_special_;
  bool started_ = false;  // a token was rendered (SentencePiece leading-space rule)
  std::string pending_;
};

// Length of the longest prefix of `s` that does not end inside an incomplete (but so far valid)
// UTF-8 sequence. Exposed for tests.
size_t utf8_printable_prefix(std::string_view s);

}  // namespace bitnet
