// Regex pre-tokenizer for byte-level BPE (internal to src/tokenizer). Splits text into the pieces
// BPE runs on, using PCRE2 in UTF + UCP mode (JIT when available).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bitnet {

// The Llama-3 / tiktoken split regex exactly as written in Llama 3's tokenizer.json (spec §6.1).
inline constexpr const char* kLlama3SplitRegexHf =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

enum class PreTokenizerKind {
  kLlama3,  // Llama-3 regex; BPE uses ignore_merges
  kGpt2,    // GPT-2 regex
};

// Maps tokenizer.ggml.pre to a kind. Missing/empty, "llama-bpe", "llama3", "llama-v3" and
// "default" all mean Llama 3: the official 2B4T GGUF has no pre key (spec §6.3, pitfall 7) and
// "default" is what llama.cpp writes when it could not identify a vocabulary, which for the
// byte-level vocabularies we load means a Llama-3 one.
Result<PreTokenizerKind> pre_tokenizer_kind(const std::string& pre);

class PreTokenizer {
 public:
  static Result<std::unique_ptr<PreTokenizer>> create(PreTokenizerKind kind);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Appends the pieces of `text` to `out` (views into `text`). The pieces cover `text` exactly,
  // in order: bytes the regex cannot match (invalid UTF-8) form pieces of their own, so the
  // split is total for any byte string. Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

  bool jit() const { return jit_; }

 private:
  PreTokenizer() = default;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

}  // namespace bitnet
