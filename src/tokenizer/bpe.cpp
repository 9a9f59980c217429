// Byte-level BPE (Llama 3 rules): GPT-2 byte alphabet, regex pre-tokenization, ignore_merges,
// rank-ordered merges on a heap + linked list.
#include <algorithm>
#include <cstring>
#include <functional>

#include "core/check.h"
#include "core/strings.h"
#include "tokenizer/tokenizer_internal.h"

namespace bitnet {

namespace {

struct ByteMap {
  uint32_t to_cp[256];
  int16_t from_cp[512];  // every alphabet code point is < 0x144
  ByteMap() {
    std::fill(std::begin(from_cp), std::end(from_cp), int16_t(-1));
    uint32_t extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool same = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = same ? uint32_t(b) : 256 + extra++;
      from_cp[to_cp[b]] = int16_t(b);
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

inline uint64_t merge_key(int32_t l, int32_t r) { return uint64_t(uint32_t(l)) << 32 | uint32_t(r); }
inline uint64_t hash_key(uint64_t k) { return (k * 0x9E3779B97F4A7C15ull) ^ (k >> 29); }
constexpr uint64_t kEmpty = ~uint64_t(0);

}  // namespace

uint64_t StringIdMap::hash(std::string_view s) {
  // FNV-1a over 8-byte words, then a final mix: fast for the short keys of a vocabulary.
  uint64_t h = 0xcbf29ce484222325ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

void StringIdMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
  for (const Slot& sl : old)
    if (sl.id >= 0) insert(sl.key, sl.id);
}

void StringIdMap::grow() { reserve(slots_.empty() ? 8 : slots_.size()); }

void StringIdMap::insert(std::string_view key, int32_t id) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t h = hash(key);
  const auto tag = uint32_t(h >> 32);
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    Slot& sl = slots_[i];
    if (sl.id < 0) {
      sl = {tag, id, key};
      ++size_;
      return;
    }
    if (sl.tag == tag && sl.key == key) return;  // first id wins
  }
}

int32_t StringIdMap::find(std::string_view key) const {
  if (slots_.empty()) return -1;
  const uint64_t h = hash(key);
  const auto tag = uint32_t(h >> 32);
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& sl = slots_[i];
    if (sl.id < 0) return -1;
    if (sl.tag == tag && sl.key == key) return sl.id;
  }
}

uint32_t gpt2_byte_to_cp(uint8_t b) { return byte_map().to_cp[b]; }
int gpt2_cp_to_byte(uint32_t cp) { return cp < 512 ? byte_map().from_cp[cp] : -1; }

std::string gpt2_encode_bytes(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) append_utf8(out, gpt2_byte_to_cp(c));
  return out;
}

std::string gpt2_decode_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t len = utf8_next(text, i, &cp);
    int b = cp == 0xFFFFFFFFu ? -1 : gpt2_cp_to_byte(cp);
    if (b >= 0)
      out += char(b);
    else
      out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

size_t utf8_next(std::string_view s, size_t i, uint32_t* cp) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  const size_t avail = s.size() - i;
  const uint8_t c = p[0];
  *cp = 0xFFFFFFFFu;
  if (c < 0x80) { *cp = c; return 1; }
  size_t len;
  uint32_t v, min;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return 1;
  if (avail < len || p[1] < lo || p[1] > hi) return 1;
  for (size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 1;
    v = v << 6 | (p[k] & 0x3F);
  }
  if (v < min) return 1;
  *cp = v;
  return len;
}

Result<std::unique_ptr<BpeModel>> BpeModel::create(const Vocab& v, const std::vector<std::string>& pieces,
                                                   const TextToId& text_to_id) {
  BITNET_ASSIGN_OR_RETURN(PreTokenizerKind kind, pre_tokenizer_kind(v.pre));
  std::unique_ptr<BpeModel> m(new BpeModel());
  BITNET_ASSIGN_OR_RETURN(m->pre_, PreTokenizer::create(kind));
  // Llama 3's tokenizer.json sets ignore_merges; GPT-2 does not (spec §6.1).
  m->ignore_merges_ = kind == PreTokenizerKind::kLlama3;

  for (int b = 0; b < 256; ++b) {
    std::string t;
    append_utf8(t, gpt2_byte_to_cp(uint8_t(b)));
    const int32_t id = text_to_id.find(t);
    if (id < 0)
      return corrupt(strfmt("byte-level BPE vocabulary has no token for byte 0x%02X ('%s')", b, t.c_str()));
    m->byte_id_[b] = id;
  }
  m->by_bytes_.reserve(pieces.size());
  for (int32_t id = 0; id < v.size(); ++id) {
    auto t = v.type(id);
    if (t == TokenType::kNormal || t == TokenType::kUndefined || t == TokenType::kByte)
      m->by_bytes_.insert(pieces[size_t(id)], id);  // first id wins on duplicates
  }

  size_t cap = 16;  // load factor <= 3/4 (Llama 3: 280k merges in 512k slots, 8 MiB)
  while (cap * 3 < v.merges.size() * 4) cap <<= 1;
  m->keys_.assign(cap, kEmpty);
  m->vals_.resize(cap);
  m->mask_ = cap - 1;
  std::string joined;
  for (size_t rank = 0; rank < v.merges.size(); ++rank) {
    std::string_view line = v.merges[rank];
    // Split at the first space after the first character (a token may itself start with ' ').
    size_t sp = line.size() > 1 ? line.find(' ', 1) : std::string_view::npos;
    if (sp == std::string_view::npos)
      return corrupt(strfmt("merge %zu ('%s') is not of the form 'left right'", rank, std::string(line).c_str()));
    std::string_view l = line.substr(0, sp), r = line.substr(sp + 1);
    const int32_t li = text_to_id.find(l), ri = text_to_id.find(r);
    joined.assign(l);
    joined.append(r);
    const int32_t ji = text_to_id.find(joined);
    // A merge naming tokens the vocabulary lacks can never fire; skip it (llama.cpp does too).
    if (li < 0 || ri < 0 || ji < 0) continue;
    uint64_t key = merge_key(li, ri);
    for (uint64_t h = hash_key(key) & m->mask_;; h = (h + 1) & m->mask_) {
      if (m->keys_[h] == key) break;  // duplicate pair: the first (lowest) rank wins
      if (m->keys_[h] == kEmpty) {
        m->keys_[h] = key;
        m->vals_[h] = {int32_t(rank), ji};
        break;
      }
    }
  }
  return m;
}

const BpeModel::Merge* BpeModel::find_merge(int32_t l, int32_t r) const {
  const uint64_t key = merge_key(l, r);
  for (uint64_t h = hash_key(key) & mask_;; h = (h + 1) & mask_) {
    if (keys_[h] == key) return &vals_[h];
    if (keys_[h] == kEmpty) return nullptr;
  }
}

void BpeModel::encode(std::string_view text, std::vector<int32_t>& out, BpeScratch& s) const {
  s.pieces.clear();
  pre_->split(text, s.pieces);
  for (std::string_view p : s.pieces) encode_piece(p, out, s);
}

void BpeModel::encode_piece(std::string_view p, std::vector<int32_t>& out, BpeScratch& s) const {
  const size_t n = p.size();
  if (n == 0) return;
  const auto* b = reinterpret_cast<const uint8_t*>(p.data());
  if (n == 1) {
    out.push_back(byte_id_[b[0]]);
    return;
  }
  if (ignore_merges_) {  // a piece that is itself a token is emitted whole (HF ignore_merges)
    if (int32_t id = by_bytes_.find(p); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  // Symbols live at the index of their first byte; merging keeps the left index, so a heap key
  // (rank << 32 | left index) orders by rank, then left to right.
  auto& id = s.id;
  auto& next = s.next;
  auto& prev = s.prev;
  auto& heap = s.heap;
  id.resize(n);
  next.resize(n);
  prev.resize(n);
  heap.clear();
  for (size_t i = 0; i < n; ++i) {
    id[i] = byte_id_[b[i]];
    next[i] = i + 1 < n ? int32_t(i + 1) : -1;
    prev[i] = int32_t(i) - 1;
  }
  auto push = [&](int32_t left) {
    if (const Merge* m = find_merge(id[size_t(left)], id[size_t(next[size_t(left)])])) {
      heap.push_back(uint64_t(uint32_t(m->rank)) << 32 | uint32_t(left));
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (size_t i = 0; i + 1 < n; ++i)  // initial pairs: heapify once, O(n)
    if (const Merge* m = find_merge(id[i], id[i + 1])) heap.push_back(uint64_t(uint32_t(m->rank)) << 32 | uint32_t(i));
  std::make_heap(heap.begin(), heap.end(), std::greater<>());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto left = size_t(uint32_t(top));
    const auto rank = int32_t(top >> 32);
    if (id[left] < 0 || next[left] < 0) continue;  // merged away, or now the last symbol
    const auto right = size_t(next[left]);
    // Stale entries: the pair at `left` changed since it was pushed. A rank names one pair, so
    // an equal rank means the entry still describes the current pair.
    const Merge* m = find_merge(id[left], id[right]);
    if (!m || m->rank != rank) continue;
    id[left] = m->result;
    id[right] = -1;
    next[left] = next[right];
    if (next[right] >= 0) prev[size_t(next[right])] = int32_t(left);
    if (prev[left] >= 0) push(prev[left]);
    if (next[left] >= 0) push(int32_t(left));
  }
  for (int32_t i = 0; i >= 0; i = next[size_t(i)]) out.push_back(id[size_t(i)]);
}

}  // namespace bitnet
