// Llama-3 tokenizer parity with the npm package llama3-tokenizer-js: the full vocabulary, a
// >= 2000-string corpus and the package's own test cases, id for id. The reference data is made
// by tools/tokenizer/prepare.sh (see there); these tests FAIL, not skip, when it is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace bitnet {
namespace {

using nlohmann::json;

std::string data_dir() {
  if (const char* e = std::getenv("BITNET_TOKENIZER_DATA")) return e;
  return std::string(BITNET_SOURCE_DIR) + "/build/vocab";
}

std::string missing_msg(const std::string& path) {
  return "tokenizer reference data missing: '" + path +
         "'. Generate it with `tools/tokenizer/prepare.sh build/vocab` (needs node + npm; writes "
         "build/vocab) or point BITNET_TOKENIZER_DATA at a prepared directory.";
}

bool exists(const std::string& p) { return std::ifstream(p).good(); }

std::string from_hex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += char(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

std::string printable(const std::string& s, size_t max = 120) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) { char b[8]; std::snprintf(b, sizeof b, "\\x%02x", c); out += b; }
    else out += char(c);
  }
  return s.size() > max ? out + "..." : out;
}

std::string ids_str(const std::vector<int32_t>& v, size_t from, size_t n = 8) {
  std::string s = "[";
  for (size_t i = from; i < v.size() && i < from + n; ++i) {
    if (i > from) s += ',';
    s += std::to_string(v[i]);
  }
  return s + (from + n < v.size() ? ",...]" : "]");
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

class Llama3Parity : public ::testing::Test {
 protected:
  void SetUp() override {
    gguf_ = data_dir() + "/llama3-vocab.gguf";
    ASSERT_TRUE(exists(gguf_)) << missing_msg(gguf_);
    auto f = GgufFile::open(gguf_);
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    auto v = vocab_from_gguf(*f);
    ASSERT_TRUE(v.is_ok()) << v.status().to_string();
    vocab_ = *v;
    auto t = Tokenizer::create(vocab_);
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    tok_ = std::move(t).value();
  }
  std::string gguf_;
  Vocab vocab_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(Llama3Parity, VocabularyShapeAndSpecialIds) {
  EXPECT_EQ(tok_->n_vocab(), 128256);
  EXPECT_EQ(vocab_.merges.size(), 280147u);
  EXPECT_EQ(vocab_.model, "gpt2");
  EXPECT_EQ(tok_->bos_id(), 128000);
  EXPECT_EQ(tok_->eos_id(), 128001);
  EXPECT_EQ(tok_->eot_id(), 128009);  // derived by name: the vocab GGUF has no eot key
  EXPECT_TRUE(tok_->add_bos_default());
  EXPECT_TRUE(tok_->is_eog(128001));
  EXPECT_TRUE(tok_->is_eog(128009));
  EXPECT_FALSE(tok_->is_eog(128000));
  EXPECT_FALSE(tok_->is_eog(13));
  EXPECT_EQ(tok_->token_to_piece(220), " ");
  EXPECT_EQ(tok_->token_to_piece(198), "\n");
  EXPECT_EQ(tok_->token_to_piece(128009), "<|eot_id|>");
  EXPECT_TRUE(tok_->is_special(128009));
  EXPECT_FALSE(tok_->is_special(220));
}

TEST_F(Llama3Parity, GgufMatchesTokenizerJson) {
  const std::string tj = data_dir() + "/tokenizer.json";
  ASSERT_TRUE(exists(tj)) << missing_msg(tj);
  auto j = vocab_from_tokenizer_json(tj);
  ASSERT_TRUE(j.is_ok()) << j.status().to_string();
  EXPECT_EQ(j->model, vocab_.model);
  EXPECT_EQ(j->pre, vocab_.pre);
  EXPECT_TRUE(j->tokens == vocab_.tokens);
  EXPECT_TRUE(j->token_types == vocab_.token_types);
  EXPECT_TRUE(j->merges == vocab_.merges);
  EXPECT_EQ(j->bos_id, vocab_.bos_id);
  EXPECT_EQ(j->eos_id, vocab_.eos_id);
  EXPECT_EQ(j->add_bos, vocab_.add_bos);
  // Re-serialising the loaded vocabulary reproduces the file byte for byte.
  GgufWriter w;
  vocab_to_gguf(*j, w);
  auto bytes = w.to_bytes();
  std::ifstream in(gguf_, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(file == bytes);
}

TEST_F(Llama3Parity, Corpus) {
  const std::string path = data_dir() + "/corpus.jsonl";
  ASSERT_TRUE(exists(path)) << missing_msg(path);
  const auto corpus = read_jsonl(path);
  ASSERT_GE(corpus.size(), 2000u);
  size_t n_ids = 0, n_rt = 0, mismatches = 0, rt_fail = 0, stream_fail = 0;
  for (const auto& e : corpus) {
    const std::string text = from_hex(e["hex"].get<std::string>());
    const bool bos = e["bos"].get<bool>();
    // Round trip, with and without special-token parsing, and streaming == decode.
    for (bool special : {false, true}) {
      auto ids = tok_->encode(text, false, special);
      std::string back = tok_->decode(ids);
      if (back != text && ++rt_fail <= 5)
        ADD_FAILURE() << "round trip failed (" << e["cat"] << ", parse_special=" << special << "): '"
                      << printable(text) << "' -> '" << printable(back) << "'";
      Detokenizer d(*tok_, true);
      std::string streamed;
      for (int32_t id : ids) streamed += d.push(id);
      streamed += d.flush();
      if (streamed != back && ++stream_fail <= 5)
        ADD_FAILURE() << "Detokenizer output differs from decode for '" << printable(text) << "'";
    }
    if (e["check"] == "roundtrip") {
      ++n_rt;
      continue;
    }
    ++n_ids;
    const auto want = e["ids"].get<std::vector<int32_t>>();
    const auto got = tok_->encode(text, bos, /*parse_special=*/true);  // the package always parses specials
    if (got != want) {
      size_t k = 0;
      while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
      if (++mismatches <= 10)
        ADD_FAILURE() << "id mismatch (" << e["cat"] << ") for '" << printable(text) << "' at index " << k
                      << ": want " << ids_str(want, k) << " got " << ids_str(got, k);
    }
  }
  std::printf("[ parity ] %zu strings checked id for id, %zu round-trip only; %zu id mismatches\n", n_ids, n_rt,
              mismatches);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(rt_fail, 0u);
  EXPECT_EQ(stream_fail, 0u);
  EXPECT_GE(n_ids, 2000u);
}

TEST_F(Llama3Parity, PackageOwnTests) {
  const std::string path = data_dir() + "/package_tests.jsonl";
  ASSERT_TRUE(exists(path)) << missing_msg(path);
  const auto recs = read_jsonl(path);
  ASSERT_GE(recs.size(), 30u);
  for (const auto& r : recs) {
    if (r["kind"] == "encode") {
      const std::string text = from_hex(r["hex"].get<std::string>());
      auto got = tok_->encode(text, r["bos"].get<bool>(), true);
      if (r["eos"].get<bool>()) got.push_back(tok_->eos_id());
      EXPECT_EQ(got, r["ids"].get<std::vector<int32_t>>()) << "encode '" << printable(text) << "'";
    } else {
      const auto ids = r["ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(tok_->decode(ids), from_hex(r["hex"].get<std::string>()));
    }
  }
}

}  // namespace
}  // namespace bitnet
