// Internals of src/tokenizer shared between its .cpp files (not a public header).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace bitnet {

// GPT-2 byte <-> unicode alphabet (spec §6.1): bytes 0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF map to the
// same code point, the other 68 bytes to U+0100.. in increasing byte order.
uint32_t gpt2_byte_to_cp(uint8_t b);
int gpt2_cp_to_byte(uint32_t cp);  // -1 if cp is not in the alphabet
std::string gpt2_encode_bytes(std::string_view raw);  // raw bytes -> alphabet (UTF-8)
// Alphabet text -> raw bytes. Code points outside the alphabet are kept as their UTF-8 bytes.
std::string gpt2_decode_text(std::string_view text);

// Decodes one UTF-8 code point at s[i]; returns its length (1 for an invalid byte, with
// *cp = 0xFFFFFFFF). Never reads past s.size().
size_t utf8_next(std::string_view s, size_t i, uint32_t* cp);

// Read-only string -> id map (open addressing, keys are views that must outlive it). Faster than
// std::unordered_map for the per-piece vocabulary lookups that dominate encoding: one probe
// usually touches one cache line, and a stored hash tag avoids most string compares.
class StringIdMap {
 public:
  void reserve(size_t n);
  // Keeps the first id of a duplicate key.
  void insert(std::string_view key, int32_t id);
  int32_t find(std::string_view key) const;  // -1 if absent

 private:
  struct Slot { uint32_t tag = 0; int32_t id = -1; std::string_view key; };
  static uint64_t hash(std::string_view s);
  void grow();
  std::vector<Slot> slots_;
  size_t size_ = 0;
  uint64_t mask_ = 0;
};

using TextToId = StringIdMap;

// Finds special tokens written in text. CONTROL/UNKNOWN tokens match only with parse_special;
// USER_DEFINED tokens always match. Leftmost match wins, longest at a position.
class SpecialMatcher {
 public:
  explicit SpecialMatcher(const Vocab& v);
  // Calls raw(string_view) for text between matches (never empty) and tok(id) for matches.
  template <class RawFn, class TokFn>
  void split(std::string_view text, bool parse_special, RawFn&& raw, TokFn&& tok) const;

 private:
  struct Entry { int32_t id; bool needs_parse_special; };
  std::unordered_map<std::string_view, Entry> map_;  // views into the Vocab given to the ctor
  std::array<std::vector<uint32_t>, 256> lens_;      // distinct lengths by first byte, longest first
  std::vector<uint64_t> pair_bits_;                  // 65536 bits: first two bytes of some token
  bool has_always_ = false;                          // any USER_DEFINED token
  bool has_any_ = false;
};

template <class RawFn, class TokFn>
void SpecialMatcher::split(std::string_view text, bool parse_special, RawFn&& raw, TokFn&& tok) const {
  if (!has_any_ || (!parse_special && !has_always_)) {
    if (!text.empty()) raw(text);
    return;
  }
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t start = 0, i = 0;
  while (i < n) {
    const auto& lens = lens_[s[i]];
    if (lens.empty()) { ++i; continue; }
    const bool pair_ok = i + 1 < n && (pair_bits_[(size_t(s[i]) << 8 | s[i + 1]) >> 6] >> (s[i + 1] & 63)) & 1;
    size_t matched = 0;
    for (uint32_t len : lens) {
      if (len > n - i || (len >= 2 && !pair_ok)) continue;
      auto it = map_.find(text.substr(i, len));
      if (it == map_.end() || (it->second.needs_parse_special && !parse_special)) continue;
      if (i > start) raw(text.substr(start, i - start));
      tok(it->second.id);
      matched = len;
      break;
    }
    if (matched) {
      i += matched;
      start = i;
    } else {
      ++i;
    }
  }
  if (start < n) raw(text.substr(start));
}

// Scratch buffers reused across pieces within one encode() call.
struct BpeScratch {
  std::vector<int32_t> id, next, prev;
  std::vector<uint64_t> heap;
  std::vector<std::string_view> pieces;
};

// Byte-level BPE over pre-tokenized pieces, merges applied by rank (lowest first, leftmost on
// ties) with a heap over a linked list of symbols: O(n log n) per piece.
class BpeModel {
 public:
  // `pieces` are the raw bytes of each token; `text_to_id` maps GGUF token text to ids. Both must
  // outlive the model (the Tokenizer owns them).
  static Result<std::unique_ptr<BpeModel>> create(const Vocab& v, const std::vector<std::string>& pieces,
                                                  const TextToId& text_to_id);
  void encode(std::string_view text, std::vector<int32_t>& out, BpeScratch& s) const;
  bool jit() const { return pre_->jit(); }

 private:
  struct Merge { int32_t rank; int32_t result; };
  const Merge* find_merge(int32_t l, int32_t r) const;
  void encode_piece(std::string_view p, std::vector<int32_t>& out, BpeScratch& s) const;

  std::unique_ptr<PreTokenizer> pre_;
  bool ignore_merges_ = true;
  std::array<int32_t, 256> byte_id_{};
  StringIdMap by_bytes_;  // raw bytes of NORMAL tokens -> id
  // Open-addressing hash table: key (left << 32 | right), power-of-two size.
  std::vector<uint64_t> keys_;
  std::vector<Merge> vals_;
  uint64_t mask_ = 0;
};

// SentencePiece-style BPE (llama.cpp "SPM"): whole text, symbols = UTF-8 characters, repeatedly
// merge the adjacent pair whose concatenation is a NORMAL token with the highest score (leftmost
// on ties); leftovers fall back to <0xNN> byte tokens (or UNK).
class SpmModel {
 public:
  static Result<std::unique_ptr<SpmModel>> create(const Vocab& v);
  // `text` is already escaped (' ' -> U+2581) and prefixed as needed.
  void encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  StringIdMap normal_;  // views into the Vocab given to create()
  const std::vector<float>* scores_ = nullptr;
  std::array<int32_t, 256> byte_id_{};
  int32_t unk_id_ = -1;
};

}  // namespace bitnet
