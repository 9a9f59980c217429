// SentencePiece-style tokenizer (GGUF model "llama", spec §6.6) on a small hand-made vocabulary:
// score-ordered merges, ▁ handling and the space prefix, byte fallback, UNK, special tokens,
// decoding and streaming.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace bitnet {
namespace {

const std::string S = "\xE2\x96\x81";  // ▁

struct Spm {
  Vocab v;
  int32_t id(const std::string& piece) const {
    for (int32_t i = 0; i < v.size(); ++i)
      if (v.tokens[size_t(i)] == piece) return i;
    ADD_FAILURE() << "no piece '" << piece << "'";
    return -1;
  }
  int32_t byte(int b) const { return 3 + b; }
};

// <unk>=0 <s>=1 </s>=2, <0x00>..<0xFF> = 3..258, then scored pieces (llama.cpp layout).
Spm make_spm(bool with_bytes = true) {
  Spm s;
  Vocab& v = s.v;
  v.model = "llama";
  auto add = [&](const std::string& t, TokenType type, float score) {
    v.tokens.push_back(t);
    v.token_types.push_back(int32_t(type));
    v.scores.push_back(score);
  };
  add("<unk>", TokenType::kUnknown, 0);
  add("<s>", TokenType::kControl, 0);
  add("</s>", TokenType::kControl, 0);
  if (with_bytes) {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      add(buf, TokenType::kByte, 0);
    }
  }
  const std::vector<std::pair<std::string, float>> pieces = {
      {S, -1},          {"h", -2},          {"e", -2},           {"l", -2},         {"o", -2},
      {"w", -3},        {"r", -3},          {"d", -3},           {S + "h", -5},     {"he", -6},
      {"ll", -4},       {S + "he", -7},     {"llo", -8},         {S + "hello", -9}, {S + "w", -5},
      {"or", -6},       {"ld", -7},         {S + "wor", -8},     {S + "world", -9}, {S + S, -4},
      {"\xC3\xA9", -3},  // é
  };
  for (const auto& [t, sc] : pieces) add(t, TokenType::kNormal, sc);
  add("<user>", TokenType::kUserDefined, -1000);
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  return s;
}

std::unique_ptr<Tokenizer> make_tok(const Vocab& v) {
  auto t = Tokenizer::create(v);
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  return t.is_ok() ? std::move(t).value() : nullptr;
}

TEST(TokenizerSpm, MergesByHighestScoreWithSpacePrefix) {
  auto s = make_spm();
  auto t = make_tok(s.v);
  EXPECT_EQ(t->encode("hello world", false, false), (std::vector<int32_t>{s.id(S + "hello"), s.id(S + "world")}));
  EXPECT_EQ(t->encode("hello", true, false), (std::vector<int32_t>{1, s.id(S + "hello")}));
  EXPECT_EQ(t->encode("", true, false), (std::vector<int32_t>{1}));
  EXPECT_EQ(t->encode("", false, false), (std::vector<int32_t>{}));
  // "▁he" + "l" "l" "o" without "llo"... : "hell" -> ▁he + ll
  EXPECT_EQ(t->encode("hell", false, false), (std::vector<int32_t>{s.id(S + "he"), s.id("ll")}));
  // Leading space: "▁▁hello". ▁▁ and ll (both -4) merge first, leftmost first; ▁h is then
  // gone, so h+e and ll+o follow: ▁▁ he llo.
  EXPECT_EQ(t->encode(" hello", false, false), (std::vector<int32_t>{s.id(S + S), s.id("he"), s.id("llo")}));
}

TEST(TokenizerSpm, ByteFallbackAndUnknown) {
  auto s = make_spm();
  auto t = make_tok(s.v);
  // 'H' and 'i' have no piece: byte tokens. é has a piece; ñ does not (2 bytes).
  EXPECT_EQ(t->encode("Hi", false, false), (std::vector<int32_t>{s.id(S), s.byte('H'), s.byte('i')}));
  EXPECT_EQ(t->encode("\xC3\xA9\xC3\xB1", false, false),
            (std::vector<int32_t>{s.id(S), s.id("\xC3\xA9"), s.byte(0xC3), s.byte(0xB1)}));
  EXPECT_EQ(t->encode("o\nw", false, false), (std::vector<int32_t>{s.id(S), s.id("o"), s.byte('\n'), s.id("w")}));
  // Without byte tokens, a character without a piece is one <unk>.
  auto nb = make_spm(false);
  auto tn = make_tok(nb.v);
  EXPECT_EQ(tn->encode("H\xC3\xB1", false, false), (std::vector<int32_t>{nb.id(S), 0, 0}));
  // Neither byte tokens nor <unk>: refused at load time.
  nb.v.unk_id = -1;
  EXPECT_FALSE(Tokenizer::create(nb.v).is_ok());
}

TEST(TokenizerSpm, SpecialTokensAndPrefixAfterThem) {
  auto s = make_spm();
  auto t = make_tok(s.v);
  // llama.cpp: a "▁" prefix at the start and after every special token.
  EXPECT_EQ(t->encode("hello</s>hello", false, true),
            (std::vector<int32_t>{s.id(S + "hello"), 2, s.id(S + "hello")}));
  // Not parsed: "</s>" is text (bytes).
  auto ids = t->encode("</s>", false, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{s.id(S), s.byte('<'), s.byte('/'), s.byte('s'), s.byte('>')}));
  // USER_DEFINED tokens always match.
  EXPECT_EQ(t->encode("<user>", false, false), (std::vector<int32_t>{s.id("<user>")}));
  EXPECT_FALSE(t->is_eog(s.id("o")));
  EXPECT_TRUE(t->is_eog(2));
}

TEST(TokenizerSpm, DecodeRemovesThePrefixSpaceAndRoundTrips) {
  auto s = make_spm();
  auto t = make_tok(s.v);
  for (std::string text : {"hello world", " hello", "  two  spaces ", "Hi\n\tthere \xC3\xA9\xC3\xB1 \xF0\x9F\xA6\x99", "x",
                           "\xFF\xC3 invalid"}) {
    auto ids = t->encode(text, false, false);
    EXPECT_EQ(t->decode(ids), text);
    auto with_bos = t->encode(text, true, false);
    EXPECT_EQ(t->decode(with_bos, /*render_special=*/false), text);
    // Streaming gives the same bytes.
    Detokenizer d(*t);
    std::string streamed;
    for (int32_t id : with_bos) streamed += d.push(id);
    streamed += d.flush();
    EXPECT_EQ(streamed, text);
  }
  EXPECT_EQ(t->decode(t->encode("hello", true, false)), "<s> hello");  // like HF with specials shown
  EXPECT_EQ(t->token_to_piece(s.id(S + "hello")), " hello");
  EXPECT_EQ(t->token_to_piece(s.byte(0x41)), "A");
}

TEST(TokenizerSpm, StreamingHoldsBackSplitCharacters) {
  auto s = make_spm();
  auto t = make_tok(s.v);
  Detokenizer d(*t);
  EXPECT_EQ(d.push(s.id(S + "hello")), "hello");
  EXPECT_EQ(d.push(s.byte(0xC3)), "");
  EXPECT_EQ(d.push(s.byte(0xB1)), "\xC3\xB1");
  EXPECT_EQ(d.push(s.id(S + "world")), " world");
}

TEST(TokenizerSpm, LongInputs) {
  auto s = make_spm();
  auto t = make_tok(s.v);
  const std::string spaces(1 << 20, ' ');
  auto ids = t->encode(spaces, false, false);
  EXPECT_EQ(ids.size(), ((1u << 20) + 1) / 2 + 1);  // ▁▁ pairs from the left, one ▁ left over
  EXPECT_EQ(t->decode(ids), spaces);
  const std::string word(100000, 'l');
  ids = t->encode(word, false, false);
  EXPECT_EQ(t->decode(ids), word);
}

TEST(TokenizerSpm, GgufRoundTrip) {
  auto s = make_spm();
  s.v.add_space_prefix = false;
  GgufWriter w;
  vocab_to_gguf(s.v, w);
  auto bytes = w.to_bytes();
  auto f = GgufFile::from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(f.is_ok());
  auto v = vocab_from_gguf(*f);
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->model, "llama");
  EXPECT_TRUE(v->tokens == s.v.tokens);
  EXPECT_TRUE(v->scores == s.v.scores);
  EXPECT_TRUE(v->token_types == s.v.token_types);
  EXPECT_FALSE(v->add_space_prefix);
  EXPECT_EQ(v->unk_id, 0);
  // Without the prefix: "hello" starts with h, not ▁h.
  auto t = make_tok(*v);
  auto ids = t->encode("hello", false, false);
  EXPECT_EQ(ids.front(), s.id("he"));
  EXPECT_EQ(t->decode(ids), "hello");
}

}  // namespace
}  // namespace bitnet
