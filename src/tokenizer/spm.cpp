// SentencePiece-style tokenizer for `tokenizer.ggml.model = llama` vocabularies (spec §6.6),
// following llama.cpp's llm_tokenizer_spm: symbols are UTF-8 characters; the adjacent pair whose
// concatenation is a vocabulary token with the highest score is merged first (leftmost on ties);
// characters without a token fall back to <0xNN> byte tokens, else UNK.
#include <cstdio>
#include <queue>

#include "core/strings.h"
#include "tokenizer/tokenizer_internal.h"

namespace bitnet {

Result<std::unique_ptr<SpmModel>> SpmModel::create(const Vocab& v) {
  std::unique_ptr<SpmModel> m(new SpmModel());
  m->scores_ = &v.scores;
  m->unk_id_ = v.unk_id;
  m->byte_id_.fill(-1);
  m->normal_.reserve(size_t(v.size()));
  for (int32_t id = 0; id < v.size(); ++id) {
    const std::string& t = v.tokens[size_t(id)];
    switch (v.type(id)) {
      // Only ordinary pieces take part in merging, as in SentencePiece itself: a control token
      // such as "<s>" must never be assembled from "<", "s", ">".
      case TokenType::kNormal:
      case TokenType::kUndefined:
        if (!t.empty()) m->normal_.insert(t, id);
        break;
      case TokenType::kByte: {
        unsigned x;
        char tail;
        if (t.size() == 6 && std::sscanf(t.c_str(), "<0x%2X%c", &x, &tail) == 2 && tail == '>' && x < 256)
          m->byte_id_[x] = id;
        break;
      }
      default:
        break;
    }
  }
  if (m->unk_id_ < 0)
    for (int b = 0; b < 256; ++b)
      if (m->byte_id_[size_t(b)] < 0)
        return corrupt(strfmt("SentencePiece vocabulary has neither a byte token <0x%02X> nor an unknown token", b));
  return m;
}

void SpmModel::encode(std::string_view text, std::vector<int32_t>& out) const {
  struct Sym { int32_t start, len, prev, next; };
  struct Bigram {
    float score;
    int32_t left, size;
    bool operator<(const Bigram& o) const {  // max-heap: highest score, then leftmost
      return score < o.score || (score == o.score && left > o.left);
    }
  };
  std::vector<Sym> sym;
  sym.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t len = utf8_next(text, i, &cp);  // an invalid byte is a 1-byte symbol
    int32_t idx = int32_t(sym.size());
    sym.push_back({int32_t(i), int32_t(len), idx - 1, -1});
    if (idx > 0) sym[size_t(idx - 1)].next = idx;
    i += len;
  }
  std::priority_queue<Bigram> q;
  auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const Sym& a = sym[size_t(l)];
    const Sym& b = sym[size_t(r)];
    const int32_t id = normal_.find(text.substr(size_t(a.start), size_t(a.len + b.len)));
    if (id < 0) return;
    q.push({(*scores_)[size_t(id)], l, a.len + b.len});
  };
  for (size_t i = 1; i < sym.size(); ++i) try_add(int32_t(i - 1), int32_t(i));
  while (!q.empty()) {
    Bigram bg = q.top();
    q.pop();
    Sym& a = sym[size_t(bg.left)];
    if (a.len == 0 || a.next < 0) continue;
    Sym& b = sym[size_t(a.next)];
    if (a.len + b.len != bg.size) continue;  // stale: one side changed since the push
    a.len += b.len;
    b.len = 0;
    a.next = b.next;
    if (b.next >= 0) sym[size_t(b.next)].prev = bg.left;
    try_add(a.prev, bg.left);
    try_add(bg.left, a.next);
  }
  for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[size_t(i)].next) {
    const Sym& s = sym[size_t(i)];
    std::string_view piece = text.substr(size_t(s.start), size_t(s.len));
    if (int32_t id = normal_.find(piece); id >= 0) {
      out.push_back(id);
      continue;
    }
    bool all_bytes = true;
    for (unsigned char c : piece) all_bytes = all_bytes && byte_id_[c] >= 0;
    if (!all_bytes) {  // no byte fallback for this character: one UNK, as SentencePiece does
      out.push_back(unk_id_);
      continue;
    }
    for (unsigned char c : piece) out.push_back(byte_id_[c]);
  }
}

}  // namespace bitnet
