// libFuzzer target for src/tokenizer: encode never crashes and yields ids in range; byte-level
// BPE decodes back to the input for any bytes (the contract asks it for valid UTF-8; we get it
// for all input); streaming detokenization equals decode; the pre-tokenizer covers the input;
// SentencePiece round-trips valid UTF-8; chat formatting / template detection never crash.
// Vocabulary: the Llama-3 vocab from tools/tokenizer/prepare.sh when found
// ($BITNET_TOKENIZER_DATA, else build/vocab next to build/<preset>/bin), else a small built-in
// byte-level vocabulary. Input: byte 0 = flags, the rest = text.
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/vocab.h"

using namespace bitnet;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tokenizer_fuzz: %s\n", what);
  std::abort();
}

std::string data_dir() {
  if (const char* e = std::getenv("BITNET_TOKENIZER_DATA")) return e;
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "build/vocab";
  std::string p(buf, size_t(n));
  for (int i = 0; i < 3; ++i) p = p.substr(0, p.find_last_of('/'));  // bin, <preset>, -> build
  return p + "/vocab";
}

Vocab small_bpe_vocab() {
  Vocab v;
  v.model = "gpt2";
  for (int b = 0; b < 256; ++b) v.tokens.push_back(gpt2_encode_bytes(std::string(1, char(b))));
  for (const char* t : {"ab", "abc", "  ", "    ", "\xC3\xA9", "th", "the", " the"}) v.tokens.push_back(gpt2_encode_bytes(t));
  v.merges = {gpt2_encode_bytes("a") + " " + gpt2_encode_bytes("b"), gpt2_encode_bytes("ab") + " c",
              gpt2_encode_bytes(" ") + " " + gpt2_encode_bytes(" "), gpt2_encode_bytes("  ") + " " + gpt2_encode_bytes("  "),
              "\xC3\x83 \xC2\xA9", "t h", "th e", gpt2_encode_bytes(" ") + " the"};
  v.token_types.assign(v.tokens.size(), 1);
  for (const char* s : {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"}) {
    v.tokens.push_back(s);
    v.token_types.push_back(3);
  }
  v.tokens.push_back("<tool>");
  v.token_types.push_back(4);
  v.scores.assign(v.tokens.size(), 0.0f);
  v.bos_id = v.size() - 4;
  v.eos_id = v.size() - 3;
  return v;
}

Vocab small_spm_vocab() {
  Vocab v;
  v.model = "llama";
  auto add = [&](const std::string& t, int type, float s) {
    v.tokens.push_back(t);
    v.token_types.push_back(type);
    v.scores.push_back(s);
  };
  add("<unk>", 2, 0);
  add("<s>", 3, 0);
  add("</s>", 3, 0);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(buf, 6, 0);
  }
  const std::string S = "\xE2\x96\x81";
  const std::pair<std::string, float> pieces[] = {{S, -1}, {"a", -2}, {"b", -2}, {"ab", -3}, {S + "a", -3},
                                                  {S + "ab", -4}, {S + S, -2}, {"\xC3\xA9", -2}};
  for (const auto& [t, s] : pieces) add(t, 1, s);
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  return v;
}

struct State {
  std::unique_ptr<Tokenizer> bpe, spm;
  std::unique_ptr<PreTokenizer> pre;
  State() {
    Vocab v;
    const std::string p = data_dir() + "/llama3-vocab.gguf";
    auto f = GgufFile::open(p);
    if (f.is_ok()) {
      auto r = vocab_from_gguf(*f);
      if (!r.is_ok()) die(r.status().to_string().c_str());
      v = *r;
      std::fprintf(stderr, "tokenizer_fuzz: using %s\n", p.c_str());
    } else {
      v = small_bpe_vocab();
      std::fprintf(stderr, "tokenizer_fuzz: %s not found, using a small built-in vocabulary\n", p.c_str());
    }
    auto t = Tokenizer::create(v);
    if (!t.is_ok()) die(t.status().to_string().c_str());
    bpe = std::move(t).value();
    auto s = Tokenizer::create(small_spm_vocab());
    if (!s.is_ok()) die(s.status().to_string().c_str());
    spm = std::move(s).value();
    auto pr = PreTokenizer::create(PreTokenizerKind::kLlama3);
    if (!pr.is_ok()) die("pre-tokenizer");
    pre = std::move(pr).value();
  }
};

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t n = utf8_next(s, i, &cp);
    if (cp == 0xFFFFFFFFu) return false;
    i += n;
  }
  return true;
}

void check_ids(const Tokenizer& t, const std::vector<int32_t>& ids) {
  for (int32_t id : ids)
    if (id < 0 || id >= t.n_vocab()) die("id out of range");
}

std::string stream(const Tokenizer& t, const std::vector<int32_t>& ids, bool render_special) {
  Detokenizer d(t, render_special);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  return out + d.flush();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static State st;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool special = flags & 1, bos = flags & 2, render = flags & 4;

  // Byte-level BPE: total, in range, exact round trip for any bytes.
  const Tokenizer& b = *st.bpe;
  auto ids = b.encode(text, bos, special);
  check_ids(b, ids);
  if (bos && (ids.empty() || ids[0] != b.bos_id())) die("missing BOS");
  std::vector<int32_t> body(ids.begin() + (bos ? 1 : 0), ids.end());
  if (b.decode(body) != text) die("BPE round trip failed");
  if (stream(b, ids, render) != b.decode(ids, render)) die("BPE Detokenizer != decode");

  // The pre-tokenizer's pieces cover the input exactly, in order.
  std::vector<std::string_view> pieces;
  st.pre->split(text, pieces);
  std::string joined;
  for (auto p : pieces) {
    if (p.empty()) die("empty piece");
    joined += p;
  }
  if (joined != text) die("pre-tokenizer pieces do not cover the input");

  // SentencePiece: total and in range; valid UTF-8 without U+2581 and without parsed specials
  // round-trips (SentencePiece maps "▁" back to a space, and adds "▁" after special tokens).
  const Tokenizer& s = *st.spm;
  auto sids = s.encode(text, bos, special);
  check_ids(s, sids);
  if (stream(s, sids, render) != s.decode(sids, render)) die("SPM Detokenizer != decode");
  if (!special && valid_utf8(text) && text.find("\xE2\x96\x81") == std::string::npos) {
    auto plain = s.encode(text, false, false);
    if (s.decode(plain) != text) die("SPM round trip failed");
  }

  // Chat formatting: the text as a template (detection) and as message contents.
  (void)detect_chat_format(text, flags & 8 ? "bitnet-b1.58" : "");
  const size_t cut = text.size() / 2;
  std::vector<ChatMessage> msgs = {{"system", text.substr(0, cut)}, {"user", text.substr(cut)}};
  auto prompt = format_chat(flags & 16 ? ChatFormat::kLlama3 : ChatFormat::kBitnet2B4T, msgs, true);
  check_ids(b, b.encode(prompt, true, true));
  return 0;
}
