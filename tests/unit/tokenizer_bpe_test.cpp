// Byte-level BPE on small hand-made vocabularies: merge order, ignore_merges, special tokens,
// byte fallback, invalid UTF-8, long inputs, the pre-tokenizer split, streaming detokenization,
// and the Vocab loaders (GGUF, tokenizer.json) with their error paths.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/vocab.h"

namespace bitnet {
namespace {

// GPT-2 alphabet spelling of raw bytes ("a b" -> "aĠb").
std::string g(std::string_view raw) { return gpt2_encode_bytes(raw); }

struct Fixture {
  Vocab v;
  int32_t bos, eos, eot, tool;
  int32_t id(std::string_view raw) const {
    std::string t = g(raw);
    for (int32_t i = 0; i < v.size(); ++i)
      if (v.tokens[size_t(i)] == t) return i;
    ADD_FAILURE() << "no token '" << raw << "'";
    return -1;
  }
};

// Ids 0..255 are the single bytes (id == byte value), then `extra` (raw text, NORMAL), then
// <|begin_of_text|>, <|end_of_text|>, <|eot_id|> (CONTROL) and <tool> (USER_DEFINED).
// `merges` are given in raw text as "left right" and converted to the GPT-2 alphabet.
Fixture make_vocab(const std::vector<std::string>& extra, const std::vector<std::pair<std::string, std::string>>& merges,
                   const std::string& pre = "") {
  Fixture f;
  Vocab& v = f.v;
  v.model = "gpt2";
  v.pre = pre;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(g(std::string(1, char(b))));
  for (const auto& e : extra) v.tokens.push_back(g(e));
  v.token_types.assign(v.tokens.size(), int32_t(TokenType::kNormal));
  for (const char* s : {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"}) {
    v.tokens.push_back(s);
    v.token_types.push_back(int32_t(TokenType::kControl));
  }
  v.tokens.push_back("<tool>");
  v.token_types.push_back(int32_t(TokenType::kUserDefined));
  v.scores.assign(v.tokens.size(), 0.0f);
  for (const auto& [l, r] : merges) v.merges.push_back(g(l) + " " + g(r));
  const int32_t n = v.size();
  f.bos = v.bos_id = n - 4;
  f.eos = v.eos_id = n - 3;
  f.eot = n - 2;
  f.tool = n - 1;
  return f;
}

std::unique_ptr<Tokenizer> make_tok(const Vocab& v) {
  auto t = Tokenizer::create(v);
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  return t.is_ok() ? std::move(t).value() : nullptr;
}

std::vector<int32_t> bytes_of(std::string_view s) {
  std::vector<int32_t> out;
  for (unsigned char c : s) out.push_back(c);
  return out;
}

TEST(TokenizerBpe, LowestRankMergesFirst) {
  // "abcd": c+d (rank 0) beats a+b (rank 2); b+c (rank 1) is then impossible.
  auto f = make_vocab({"ab", "bc", "cd", "abcd"}, {{"c", "d"}, {"b", "c"}, {"a", "b"}}, "gpt2");
  auto t = make_tok(f.v);
  EXPECT_EQ(t->encode("abcd", false, false), (std::vector<int32_t>{f.id("ab"), f.id("cd")}));
  // Chained merges: a+b, then ab+c.
  auto f2 = make_vocab({"ab", "abc"}, {{"a", "b"}, {"ab", "c"}}, "gpt2");
  auto t2 = make_tok(f2.v);
  EXPECT_EQ(t2->encode("abc", false, false), (std::vector<int32_t>{f2.id("abc")}));
  EXPECT_EQ(t2->encode("abcab", false, false), (std::vector<int32_t>{f2.id("abc"), f2.id("ab")}));
}

TEST(TokenizerBpe, EqualRankMergesLeftToRight) {
  auto f = make_vocab({"aa"}, {{"a", "a"}}, "gpt2");
  auto t = make_tok(f.v);
  EXPECT_EQ(t->encode("aaa", false, false), (std::vector<int32_t>{f.id("aa"), 'a'}));
  EXPECT_EQ(t->encode("aaaa", false, false), (std::vector<int32_t>{f.id("aa"), f.id("aa")}));
  EXPECT_EQ(t->encode("aaaaa", false, false), (std::vector<int32_t>{f.id("aa"), f.id("aa"), 'a'}));
}

TEST(TokenizerBpe, IgnoreMergesEmitsWholeVocabPiece) {
  // "xyz" is a token but no merge sequence builds it: Llama 3 (ignore_merges) emits it whole,
  // GPT-2 rules merge x+y only.
  auto llama = make_vocab({"xy", "xyz"}, {{"x", "y"}});
  EXPECT_EQ(make_tok(llama.v)->encode("xyz", false, false), (std::vector<int32_t>{llama.id("xyz")}));
  auto gpt2 = make_vocab({"xy", "xyz"}, {{"x", "y"}}, "gpt2");
  EXPECT_EQ(make_tok(gpt2.v)->encode("xyz", false, false), (std::vector<int32_t>{gpt2.id("xy"), 'z'}));
  // Missing pre key, "llama-bpe", "llama3" and "default" all select Llama 3; others are refused.
  for (const char* pre : {"", "llama-bpe", "llama3", "default"}) {
    auto f = make_vocab({"xy", "xyz"}, {{"x", "y"}}, pre);
    EXPECT_EQ(make_tok(f.v)->encode("xyz", false, false).size(), 1u) << pre;
  }
  auto bad = make_vocab({}, {}, "qwen2");
  auto r = Tokenizer::create(bad.v);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("qwen2"), std::string::npos);
}

TEST(TokenizerBpe, SpecialTokensOnlyWhenParsingIsOn) {
  auto f = make_vocab({}, {});
  auto t = make_tok(f.v);
  const std::string s = "a<|eot_id|>b";
  EXPECT_EQ(t->encode(s, false, true), (std::vector<int32_t>{'a', f.eot, 'b'}));
  EXPECT_EQ(t->encode(s, false, false), bytes_of(s));
  // Adjacent, at the ends, and near misses.
  EXPECT_EQ(t->encode("<|eot_id|><|end_of_text|>", false, true), (std::vector<int32_t>{f.eot, f.eos}));
  EXPECT_EQ(t->encode("<|eot_id|", false, true), bytes_of("<|eot_id|"));
  EXPECT_EQ(t->encode("<<|eot_id|>>", false, true), (std::vector<int32_t>{'<', f.eot, '>'}));
  // USER_DEFINED tokens are recognised either way (HF added tokens with special = false).
  EXPECT_EQ(t->encode("x<tool>y", false, false), (std::vector<int32_t>{'x', f.tool, 'y'}));
  // Decode renders control tokens unless asked not to.
  EXPECT_EQ(t->decode(std::vector<int32_t>{f.bos, 'h', 'i', f.eot}), "<|begin_of_text|>hi<|eot_id|>");
  EXPECT_EQ(t->decode(std::vector<int32_t>{f.bos, 'h', 'i', f.eot}, false), "hi");
}

TEST(TokenizerBpe, BosIsAddedOnceOnRequest) {
  auto f = make_vocab({}, {});
  auto t = make_tok(f.v);
  EXPECT_EQ(t->encode("", true, true), (std::vector<int32_t>{f.bos}));
  EXPECT_EQ(t->encode("", false, true), (std::vector<int32_t>{}));
  EXPECT_EQ(t->encode("hi", true, false), (std::vector<int32_t>{f.bos, 'h', 'i'}));
  // BOS written in the text is a token like any other control token (no deduplication).
  EXPECT_EQ(t->encode("<|begin_of_text|>hi", true, true), (std::vector<int32_t>{f.bos, f.bos, 'h', 'i'}));
}

TEST(TokenizerBpe, CharactersWithoutTokensFallBackToBytes) {
  auto f = make_vocab({}, {});
  auto t = make_tok(f.v);
  EXPECT_EQ(t->encode("\xF0\x9F\xA6\x99", false, false), (std::vector<int32_t>{0xF0, 0x9F, 0xA6, 0x99}));  // 🦙
  EXPECT_EQ(t->token_to_piece(' '), " ");
  EXPECT_EQ(t->token_to_piece('\n'), "\n");
  EXPECT_EQ(t->token_to_piece(0xC3), "\xC3");
}

TEST(TokenizerBpe, InvalidUtf8IsTotalAndRoundTrips) {
  auto f = make_vocab({"ab", "\xC3\xA9"}, {{"a", "b"}, {"\xC3", "\xA9"}});
  auto t = make_tok(f.v);
  const std::vector<std::string> inputs = {
      "\xFF", "\xFE\xFF", "ab\xFF" "ab", "\xC3", "\xC3\xA9\xC3", "\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80",
      std::string("a\0b", 3), "\x80\x80 ab \xE4\xB8", " \xFF ", "\n\xFF\n", "ab\xC3\xA9" "ab"};
  for (const auto& s : inputs) {
    for (bool special : {false, true}) {
      auto ids = t->encode(s, false, special);
      EXPECT_EQ(t->decode(ids), s);
    }
  }
  EXPECT_EQ(t->encode("ab\xFF" "ab", false, false), (std::vector<int32_t>{f.id("ab"), 0xFF, f.id("ab")}));
}

TEST(TokenizerBpe, PreTokenizerSplitsLikeLlama3) {
  auto p = PreTokenizer::create(PreTokenizerKind::kLlama3);
  ASSERT_TRUE(p.is_ok());
  // Expected splits computed with the regex of llama3-tokenizer-js (JS, Unicode mode).
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"Hello world's 12345 \n\n  x", {"Hello", " world", "'s", " ", "123", "45", " \n\n", " ", " x"}},
      {"I'M don'T  \tgo!!\n\n", {"I", "'M", " don", "'T", "  ", "\tgo", "!!\n\n"}},
      {"a  b\t\tc", {"a", " ", " b", "\t", "\tc"}},
      {"x = f(1234567);\r\n", {"x", " =", " f", "(", "123", "456", "7", ");\r\n"}},
      {"  leading", {" ", " leading"}},
      {"trailing  ", {"trailing", "  "}},
      {"e\xCC\x81t\xC3\xA9", {"e", "\xCC\x81t\xC3\xA9"}},
      {"中文 テスト123", {"中文", " テスト", "123"}},
      {"'s'S'LL''", {"'s", "'S", "'LL", "''"}},
      {"😀😀 ok", {"😀😀", " ok"}},
      {"\u3000\u3000a\u00a0b", {"\u3000", "\u3000a", "\u00a0b"}},
      {"...\n\n\nend", {"...\n\n\n", "end"}},
      // Unmatchable bytes (invalid UTF-8) form their own pieces; the split still covers everything.
      {"ab\xFF\xFE cd", {"ab", "\xFF\xFE", " cd"}},
  };
  for (const auto& [text, want] : cases) {
    std::vector<std::string_view> got;
    (*p)->split(text, got);
    EXPECT_EQ(std::vector<std::string>(got.begin(), got.end()), want) << text;
  }
}

TEST(TokenizerBpe, PreTokenizerHandlesMegabyteRuns) {
  // Regex backtracking over 1 MiB runs must neither blow a stack nor fall back to a different
  // split (PCRE2 JIT stack / match limits).
  auto p = PreTokenizer::create(PreTokenizerKind::kLlama3);
  ASSERT_TRUE(p.is_ok());
  const size_t n = 1 << 20;
  std::vector<std::string_view> got;
  const std::string spaces_x = std::string(n, ' ') + "x";
  (*p)->split(spaces_x, got);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].size(), n - 1);
  EXPECT_EQ(got[1], " x");
  got.clear();
  std::string nl;
  for (size_t i = 0; i < n / 2; ++i) nl += " \n";
  nl += "end";
  (*p)->split(nl, got);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], "end");
  got.clear();
  (*p)->split(std::string(n, 'a'), got);
  EXPECT_EQ(got.size(), 1u);
  got.clear();
  (*p)->split(std::string(n - 1, '7'), got);
  EXPECT_EQ(got.size(), (n - 1) / 3);
}

TEST(TokenizerBpe, WhitespaceIsUnicodeWhiteSpace) {
  // U+0085 is White_Space (tiktoken, HF, llama.cpp) and U+FEFF is not; JavaScript's \s has it the
  // other way round, which is why the parity corpus checks these only for round trip.
  auto p = PreTokenizer::create(PreTokenizerKind::kLlama3);
  ASSERT_TRUE(p.is_ok());
  std::vector<std::string_view> got;
  (*p)->split("a\u0085\u0085b", got);
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.end()), (std::vector<std::string>{"a", "\u0085", "\u0085b"}));
  got.clear();
  (*p)->split("a\uFEFF\uFEFFb", got);
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.end()), (std::vector<std::string>{"a", "\uFEFF\uFEFF", "b"}));
  got.clear();
  (*p)->split("a\u180E\u180Eb", got);  // Mongolian vowel separator: a format character since Unicode 6.3
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.end()), (std::vector<std::string>{"a", "\u180E\u180E", "b"}));
}

TEST(TokenizerBpe, LongInputsAreNotQuadratic) {
  // Merges that build runs of spaces and of 'a' (like Llama 3's "ĠĠ", "ĠĠĠĠ", ...).
  auto f = make_vocab({"  ", "    ", "aa", "aaaa"}, {{" ", " "}, {"  ", "  "}, {"a", "a"}, {"aa", "aa"}});
  auto t = make_tok(f.v);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string word(100000, 'a');
  auto ids = t->encode(word, false, false);
  EXPECT_EQ(ids.size(), 25000u);
  EXPECT_EQ(t->decode(ids), word);
  const std::string spaces(1 << 20, ' ');
  ids = t->encode(spaces, false, false);
  EXPECT_EQ(ids.size(), (1u << 20) / 4);
  EXPECT_EQ(t->decode(ids), spaces);
  std::string mixed;
  for (int i = 0; i < 50000; ++i) mixed += i % 7 ? " a" : "\n\t ";
  ids = t->encode(mixed, false, true);
  EXPECT_EQ(t->decode(ids), mixed);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ long ] 100 KB word + 1 MiB of spaces + 150 KB mixed: %.3f s\n", s);
  EXPECT_LT(s, 30.0);  // generous: catches quadratic behaviour (minutes), not noise
}

TEST(TokenizerBpe, EndOfGenerationIds) {
  auto f = make_vocab({}, {});
  auto t = make_tok(f.v);
  EXPECT_EQ(t->eot_id(), f.eot);  // derived from the name: no eot key in the vocabulary
  EXPECT_TRUE(t->is_eog(f.eos));
  EXPECT_TRUE(t->is_eog(f.eot));
  EXPECT_FALSE(t->is_eog(f.bos));
  EXPECT_FALSE(t->is_eog('a'));
  EXPECT_FALSE(t->is_eog(-1));
  f.v.eot_id = 'x';  // an explicit key wins
  EXPECT_EQ(make_tok(f.v)->eot_id(), 'x');
}

TEST(Utf8, PrintablePrefix) {
  EXPECT_EQ(utf8_printable_prefix(""), 0u);
  EXPECT_EQ(utf8_printable_prefix("a"), 1u);
  EXPECT_EQ(utf8_printable_prefix("\xC3"), 0u);
  EXPECT_EQ(utf8_printable_prefix("a\xE4\xB8"), 1u);
  EXPECT_EQ(utf8_printable_prefix("a\xE4\xB8\x80"), 4u);
  EXPECT_EQ(utf8_printable_prefix("\xF0\x9F\xA6"), 0u);
  EXPECT_EQ(utf8_printable_prefix("\xE0\x80"), 2u);  // can never be valid (overlong)
  EXPECT_EQ(utf8_printable_prefix("\xED\xA0"), 2u);  // surrogate
  EXPECT_EQ(utf8_printable_prefix("\xF4\x90"), 2u);  // > U+10FFFF
  EXPECT_EQ(utf8_printable_prefix("\xFF"), 1u);
  EXPECT_EQ(utf8_printable_prefix("\x80\x80\x80\x80"), 4u);
}

TEST(Detokenizer, HoldsBackIncompleteCharacters) {
  auto f = make_vocab({}, {});
  auto t = make_tok(f.v);
  Detokenizer d(*t);
  EXPECT_EQ(d.push(0xC3), "");
  EXPECT_EQ(d.push(0xA9), "\xC3\xA9");  // é
  EXPECT_EQ(d.push(0xF0), "");
  EXPECT_EQ(d.push(0x9F), "");
  EXPECT_EQ(d.push(f.eot), "");  // control token: hidden, pending bytes kept
  EXPECT_EQ(d.push(0xA6), "");
  EXPECT_EQ(d.push(0x99), "\xF0\x9F\xA6\x99");
  EXPECT_EQ(d.push(0xFF), "\xFF");  // never valid: passed through at once
  EXPECT_EQ(d.push(0xC3), "");
  EXPECT_EQ(d.push('a'), "\xC3" "a");  // the sequence broke off: bytes pass through unchanged
  EXPECT_EQ(d.push(0xE4), "");
  EXPECT_EQ(d.flush(), "\xE4");
  EXPECT_EQ(d.flush(), "");
  Detokenizer ds(*t, /*render_special=*/true);
  EXPECT_EQ(ds.push(f.eot), "<|eot_id|>");
}

// ---- Vocab loaders ----

TEST(Vocab, GgufRoundTrip) {
  auto f = make_vocab({"ab"}, {{"a", "b"}});
  f.v.eot_id = f.eot;
  f.v.chat_template = "{{ x }}";
  f.v.add_bos = false;
  GgufWriter w;
  vocab_to_gguf(f.v, w);
  auto bytes = w.to_bytes();
  auto file = GgufFile::from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(file.is_ok());
  auto v = vocab_from_gguf(*file);
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->model, "gpt2");
  EXPECT_TRUE(v->tokens == f.v.tokens);
  EXPECT_TRUE(v->token_types == f.v.token_types);
  EXPECT_TRUE(v->merges == f.v.merges);
  EXPECT_EQ(v->bos_id, f.bos);
  EXPECT_EQ(v->eos_id, f.eos);
  EXPECT_EQ(v->eot_id, f.eot);
  EXPECT_EQ(v->pad_id, -1);
  EXPECT_FALSE(v->add_bos);
  EXPECT_EQ(v->chat_template, "{{ x }}");
}

// A GGUF holding the given tokenizer keys (plus the usual ones unless replaced).
Result<Vocab> load_with(const std::function<void(GgufWriter&)>& edit, bool with_types = true) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
  if (with_types) w.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1});
  w.set_string_array("tokenizer.ggml.merges", {"a b"});
  edit(w);
  auto bytes = w.to_bytes();
  auto file = GgufFile::from_bytes(bytes.data(), bytes.size(), "test.gguf");
  if (!file.is_ok()) return file.status();
  return vocab_from_gguf(*file);
}

TEST(Vocab, GgufErrorsAreClear) {
  auto ok = load_with([](GgufWriter&) {}, false);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->token_types, (std::vector<int32_t>{1, 1, 1}));  // default NORMAL
  EXPECT_EQ(ok->scores.size(), 3u);

  auto r = load_with([](GgufWriter& w) { w.set_string("tokenizer.ggml.model", "bert"); });
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("bert"), std::string::npos);
  EXPECT_NE(r.status().message().find("test.gguf"), std::string::npos);

  r = load_with([](GgufWriter& w) { w.set_i32_array("tokenizer.ggml.token_type", {1, 1}); }, false);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("token_type"), std::string::npos);

  r = load_with([](GgufWriter& w) { w.set_f32_array("tokenizer.ggml.scores", {0.f}); });
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);

  r = load_with([](GgufWriter& w) { w.set_i32_array("tokenizer.ggml.token_type", {1, 9, 1}); }, false);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("token type 9"), std::string::npos);

  r = load_with([](GgufWriter& w) { w.set_u32("tokenizer.ggml.bos_token_id", 3); });
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("out of range"), std::string::npos);

  r = load_with([](GgufWriter& w) { w.set_u32("tokenizer.ggml.eos_token_id", 0xFFFFFFFFu); });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->eos_id, -1);  // u32 -1 = none

  r = load_with([](GgufWriter& w) { w.set_string("tokenizer.ggml.tokens", "x"); });
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);  // wrong type

  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string_array("tokenizer.ggml.tokens", {"a"});
  auto bytes = w.to_bytes();
  auto file = GgufFile::from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(file.is_ok());
  auto v = vocab_from_gguf(*file);
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_NE(v.status().message().find("merges"), std::string::npos);
}

TEST(Vocab, TokenizerNeedsAllByteTokens) {
  Vocab v;
  v.model = "gpt2";
  v.tokens = {"a", "b"};
  v.token_types = {1, 1};
  v.scores = {0, 0};
  auto t = Tokenizer::create(v);
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("byte 0x00"), std::string::npos);
}

class TokenizerJson : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "tokjson_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string cmd = "mkdir -p '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  // A complete byte-level BPE tokenizer.json: the 256 byte tokens, "ab", "Ġa" and two added
  // tokens. merges_json is the model.merges array.
  std::string tokenizer_json(const std::string& merges_json, const std::string& pre_regex = "") {
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b) vocab[g(std::string(1, char(b)))] = b;
    vocab["ab"] = 256;
    vocab[g(" a")] = 257;
    nlohmann::json j;
    j["added_tokens"] = nlohmann::json::array(
        {{{"id", 258}, {"content", "<|begin_of_text|>"}, {"special", true}},
         {{"id", 259}, {"content", "<|end_of_text|>"}, {"special", true}},
         {{"id", 261}, {"content", "<mine>"}, {"special", false}}});
    j["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers",
                           {{{"type", "Split"}, {"pattern", {{"Regex", pre_regex.empty() ? kLlama3SplitRegexHf : pre_regex}}}},
                            {{"type", "ByteLevel"}, {"use_regex", false}}}}};
    j["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                                       {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}};
    j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::parse(merges_json)}};
    return j.dump();
  }
  std::string dir_;
};

TEST_F(TokenizerJson, LoadsBothMergeEncodingsAndAddedTokens) {
  const std::string a = g(" "), sp = g(" a");
  auto p1 = write("t1.json", tokenizer_json(R"(["a b", ")" + a + R"( a"])"));
  auto p2 = write("t2.json", tokenizer_json(R"([["a", "b"], [")" + a + R"(", "a"]])"));
  auto v1 = vocab_from_tokenizer_json(p1);
  auto v2 = vocab_from_tokenizer_json(p2);
  ASSERT_TRUE(v1.is_ok()) << v1.status().to_string();
  ASSERT_TRUE(v2.is_ok()) << v2.status().to_string();
  EXPECT_TRUE(v1->merges == v2->merges);
  EXPECT_EQ(v1->merges, (std::vector<std::string>{"a b", a + " a"}));
  EXPECT_EQ(v1->size(), 262);
  EXPECT_EQ(v1->pre, "llama-bpe");
  EXPECT_EQ(v1->type(258), TokenType::kControl);
  EXPECT_EQ(v1->type(261), TokenType::kUserDefined);
  EXPECT_EQ(v1->type(260), TokenType::kUnused);  // hole in the id space
  EXPECT_EQ(v1->bos_id, 258);                     // from the post-processor
  EXPECT_EQ(v1->eos_id, 259);
  EXPECT_TRUE(v1->add_bos);
  auto t = make_tok(*v1);
  EXPECT_EQ(t->encode("ab a<mine>", true, false), (std::vector<int32_t>{258, 256, 257, 261}));
}

TEST_F(TokenizerJson, ConfigOverridesBosEosAndAddBos) {
  auto p = write("tokenizer.json", tokenizer_json(R"(["a b"])"));
  write("tokenizer_config.json",
        R"({"bos_token": {"content": "<|end_of_text|>"}, "eos_token": "<|begin_of_text|>", "add_bos_token": false,
            "chat_template": "{{ bos_token }}"})");
  auto v = vocab_from_tokenizer_json(p);
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->bos_id, 259);
  EXPECT_EQ(v->eos_id, 258);
  EXPECT_FALSE(v->add_bos);
  EXPECT_EQ(v->chat_template, "{{ bos_token }}");
  auto d = load_vocab(dir_);  // a directory works too
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->bos_id, 259);
}

TEST_F(TokenizerJson, ErrorsAreClear) {
  auto r = vocab_from_tokenizer_json(dir_ + "/nope.json");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  r = vocab_from_tokenizer_json(write("bad.json", "{\"model\": "));
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("invalid JSON"), std::string::npos);
  r = vocab_from_tokenizer_json(write("wp.json", R"({"model": {"type": "WordPiece", "vocab": {}}})"));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  r = vocab_from_tokenizer_json(write("re.json", tokenizer_json(R"([])", "\\w+")));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("regex"), std::string::npos);
  r = vocab_from_tokenizer_json(write("m.json", tokenizer_json(R"([1, 2])")));
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("merges"), std::string::npos);
  auto lv = load_vocab(dir_ + "/missing.gguf");
  EXPECT_EQ(lv.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace bitnet
