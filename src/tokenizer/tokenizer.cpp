// Tokenizer front end: special-token splitting, BOS, dispatch to BPE / SentencePiece, decoding,
// end-of-generation ids, and the streaming Detokenizer.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "core/check.h"
#include "core/strings.h"
#include "tokenizer/tokenizer_internal.h"

namespace bitnet {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 '▁'

bool is_special_type(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUnknown || t == TokenType::kUnused;
}

std::string spm_unescape(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    if (t.substr(i, 3) == kSpmSpace) {
      out += ' ';
      i += 3;
    } else {
      out += t[i++];
    }
  }
  return out;
}

}  // namespace

SpecialMatcher::SpecialMatcher(const Vocab& v) : pair_bits_(65536 / 64, 0) {
  for (int32_t id = 0; id < v.size(); ++id) {
    const TokenType t = v.type(id);
    const bool control = t == TokenType::kControl || t == TokenType::kUnknown;
    if (!control && t != TokenType::kUserDefined) continue;
    std::string_view text = v.tokens[size_t(id)];
    if (text.empty()) continue;
    if (!map_.emplace(text, Entry{id, control}).second) continue;  // first id wins
    has_any_ = true;
    has_always_ = has_always_ || !control;
    auto& lens = lens_[uint8_t(text[0])];
    if (std::find(lens.begin(), lens.end(), uint32_t(text.size())) == lens.end()) lens.push_back(uint32_t(text.size()));
    if (text.size() >= 2) {
      size_t k = size_t(uint8_t(text[0])) << 8 | uint8_t(text[1]);
      pair_bits_[k >> 6] |= uint64_t(1) << (k & 63);
    }
  }
  for (auto& lens : lens_) std::sort(lens.rbegin(), lens.rend());
}

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::create(const Vocab& vocab) { return create(Vocab(vocab)); }

Result<std::unique_ptr<Tokenizer>> Tokenizer::create(Vocab&& vocab) {
  BITNET_RETURN_IF_ERROR(vocab.validate());
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->vocab_ = std::move(vocab);
  BITNET_RETURN_IF_ERROR(t->init());
  return t;
}

Status Tokenizer::init() {
  const Vocab& v = vocab_;
  const size_t n = size_t(v.size());
  const bool bpe = v.model == "gpt2";
  text_to_id_ = std::make_unique<StringIdMap>();
  text_to_id_->reserve(n);
  pieces_.resize(n);
  special_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = v.tokens[i];
    text_to_id_->insert(text, int32_t(i));  // first id wins on duplicate texts
    const TokenType type = v.type(int32_t(i));
    special_[i] = is_special_type(type);
    if (type == TokenType::kNormal || type == TokenType::kUndefined || (bpe && type == TokenType::kByte)) {
      pieces_[i] = bpe ? gpt2_decode_text(text) : spm_unescape(text);
    } else if (!bpe && type == TokenType::kByte) {
      unsigned x;
      char tail;
      if (text.size() == 6 && std::sscanf(text.c_str(), "<0x%2X%c", &x, &tail) == 2 && tail == '>' && x < 256)
        pieces_[i] = std::string(1, char(x));
      else
        pieces_[i] = text;
    } else if (!bpe && type == TokenType::kUserDefined) {
      pieces_[i] = spm_unescape(text);
    } else {
      pieces_[i] = text;  // control / unknown / unused / BPE user-defined: literal text
    }
  }

  specials_ = std::make_unique<SpecialMatcher>(v);
  if (bpe) {
    BITNET_ASSIGN_OR_RETURN(bpe_, BpeModel::create(v, pieces_, *text_to_id_));
  } else {
    BITNET_ASSIGN_OR_RETURN(spm_, SpmModel::create(v));
  }

  // End of generation (spec §6.2): the 2B4T chat model ends turns with <|eot_id|> 128009 while
  // EOS is <|end_of_text|> 128001; the official GGUF has no eot key, so find it by name.
  eot_id_ = v.eot_id;
  if (eot_id_ < 0) {
    for (const char* name : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>"}) {
      int32_t id = token_id(name);
      if (id >= 0 && v.type(id) == TokenType::kControl) {
        eot_id_ = id;
        break;
      }
    }
  }
  auto add_eog = [&](int32_t id) {
    if (id >= 0 && std::find(eog_.begin(), eog_.end(), id) == eog_.end()) eog_.push_back(id);
  };
  add_eog(v.eos_id);
  add_eog(eot_id_);
  for (const char* name : {"<|end_of_text|>", "<|eom_id|>"}) {
    int32_t id = token_id(name);
    if (id >= 0 && v.type(id) == TokenType::kControl) add_eog(id);
  }
  return Status::ok();
}

int32_t Tokenizer::token_id(std::string_view text) const {
  return text_to_id_->find(text);
}

bool Tokenizer::regex_jit() const { return bpe_ && bpe_->jit(); }

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  if (bpe_) {
    BpeScratch scratch;
    specials_->split(
        text, parse_special, [&](std::string_view raw) { bpe_->encode(raw, out, scratch); },
        [&](int32_t id) { out.push_back(id); });
  } else {
    // llama.cpp / HF "legacy" behaviour: a "▁" prefix before the text and after each special
    // token; spaces become "▁".
    bool prev_special = true;
    std::string buf;
    specials_->split(
        text, parse_special,
        [&](std::string_view raw) {
          buf.clear();
          if (vocab_.add_space_prefix && prev_special) buf += kSpmSpace;
          for (char c : raw) {
            if (c == ' ')
              buf += kSpmSpace;
            else
              buf += c;
          }
          spm_->encode(buf, out);
          prev_special = false;
        },
        [&](int32_t id) {
          out.push_back(id);
          prev_special = true;
        });
  }
  return out;
}

const std::string& Tokenizer::token_to_piece(int32_t id) const {
  BITNET_CHECK_MSG(id >= 0 && id < n_vocab(), "token id out of range");
  return pieces_[size_t(id)];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < n_vocab() && special_[size_t(id)];
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::find(eog_.begin(), eog_.end(), id) != eog_.end();
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  // SentencePiece: drop the space add_space_prefix put in front (first rendered token only).
  bool strip_space = spm_ && vocab_.add_space_prefix;
  for (int32_t id : ids) {
    const std::string& p = token_to_piece(id);
    if (!render_special && special_[size_t(id)]) continue;
    if (strip_space && !p.empty() && p[0] == ' ')
      out.append(p, 1);
    else
      out += p;
    strip_space = false;
  }
  return out;
}

size_t utf8_printable_prefix(std::string_view s) {
  const size_t n = s.size();
  // Walk back over at most 3 continuation bytes to the last lead byte.
  for (size_t k = 1; k <= 4 && k <= n; ++k) {
    const auto c = uint8_t(s[n - k]);
    if ((c & 0xC0) == 0x80) continue;
    size_t need = 1;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    if (need <= k) return n;  // complete (or an ASCII / invalid byte): all printable
    // Incomplete: hold it back only if it can still become valid.
    if (k >= 2) {
      const auto c1 = uint8_t(s[n - k + 1]);
      if (c1 < lo || c1 > hi) return n;
    }
    return n - k;
  }
  return n;
}

std::string Detokenizer::push(int32_t id) {
  const std::string& p = tok_.token_to_piece(id);
  if (!render_special_ && tok_.is_special(id)) return {};
  std::string_view piece = p;
  // Same leading-space rule as Tokenizer::decode for SentencePiece.
  if (!started_ && !tok_.is_byte_level() && tok_.vocab().add_space_prefix && !piece.empty() && piece[0] == ' ')
    piece.remove_prefix(1);
  started_ = true;
  pending_.append(piece);
  const size_t k = utf8_printable_prefix(pending_);
  std::string out = pending_.substr(0, k);
  pending_.erase(0, k);
  return out;
}

std::string Detokenizer::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace bitnet
