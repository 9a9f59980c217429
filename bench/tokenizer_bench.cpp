// Tokenizer throughput with the Llama-3 vocabulary (128,256 tokens, 280,147 merges): encoding
// ~1 MB of mixed text (MB/s and tokens/s), adversarial long inputs, decoding, and vocab load.
// Vocabulary: $BITNET_TOKENIZER_DATA/llama3-vocab.gguf, else <build>/../vocab/llama3-vocab.gguf
// relative to this executable (build/<preset>/bin -> build/vocab), made by
// tools/tokenizer/prepare.sh. Acceptance: >= 5 MB/s encoding on a 2-core Zen 4.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace {

using namespace bitnet;

std::string data_dir() {
  if (const char* e = std::getenv("BITNET_TOKENIZER_DATA")) return e;
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string exe(buf, size_t(n));
    auto bin = exe.substr(0, exe.find_last_of('/'));       // build/<preset>/bin
    auto preset = bin.substr(0, bin.find_last_of('/'));    // build/<preset>
    auto build = preset.substr(0, preset.find_last_of('/'));  // build
    return build + "/vocab";
  }
  return "build/vocab";
}

const Tokenizer& tok() {
  static std::unique_ptr<Tokenizer> t = [] {
    const std::string p = data_dir() + "/llama3-vocab.gguf";
    auto f = GgufFile::open(p);
    if (!f.is_ok()) {
      std::fprintf(stderr, "tokenizer_bench: %s\nrun tools/tokenizer/prepare.sh build/vocab or set BITNET_TOKENIZER_DATA\n",
                   f.status().to_string().c_str());
      std::exit(1);
    }
    auto v = vocab_from_gguf(*f);
    auto r = Tokenizer::create(*v);
    if (!r.is_ok()) {
      std::fprintf(stderr, "tokenizer_bench: %s\n", r.status().to_string().c_str());
      std::exit(1);
    }
    return std::move(r).value();
  }();
  return *t;
}

// ~1 MB of deterministic mixed text: English prose (~75%), code, numbers, some non-Latin text.
const std::string& mixed_text() {
  static const std::string text = [] {
    const char* words[] = {"the", "of", "and", "to", "in", "is", "was", "that", "for", "it", "with", "as", "his", "on",
                           "be", "at", "by", "had", "are", "but", "from", "or", "have", "an", "they", "which", "one",
                           "you", "were", "her", "all", "she", "there", "would", "their", "we", "him", "been", "has",
                           "when", "who", "will", "more", "no", "if", "out", "so", "said", "what", "up", "model",
                           "inference", "quantization", "ternary", "weights", "activation", "kernel", "matrix",
                           "performance", "throughput", "latency", "memory", "bandwidth", "tokenizer", "language",
                           "President", "Government", "University", "September", "American", "international",
                           "don't", "it's", "we're", "they'll", "I've", "couldn't"};
    const char* code[] = {"for (int i = 0; i < n; ++i) {\n    sum += a[i] * b[i];\n}\n",
                          "def forward(self, x):\n    return self.proj(torch.relu(x) ** 2)\n",
                          "if (!st.is_ok()) return st;  // propagate\n", "{\"id\": 12345, \"name\": \"value\", \"ok\": true}\n"};
    const char* intl[] = {"北京是中国的首都。", "東京は日本の首都です。", "Привет, как дела? ", "مرحبا بالعالم ", "Ça va très bien, merci ! ",
                          "emoji 😀🚀 ", "नमस्ते दुनिया "};
    uint32_t s = 12345;
    auto rnd = [&] { s = s * 1664525u + 1013904223u; return s >> 8; };
    std::string out;
    out.reserve(1 << 20);
    while (out.size() < (1u << 20)) {
      uint32_t r = rnd() % 100;
      if (r < 75) {
        int n = 5 + int(rnd() % 20);
        for (int k = 0; k < n; ++k) {
          std::string w = words[rnd() % (sizeof words / sizeof *words)];
          if (k == 0) w[0] = char(std::toupper(static_cast<unsigned char>(w[0])));
          out += w;
          out += k + 1 < n ? (rnd() % 12 == 0 ? ", " : " ") : ". ";
        }
        if (rnd() % 6 == 0) out += "\n\n";
      } else if (r < 87) {
        out += code[rnd() % (sizeof code / sizeof *code)];
      } else if (r < 93) {
        out += std::to_string(rnd()) + " " + std::to_string(rnd() % 1000) + "." + std::to_string(rnd() % 100) + "% ";
      } else {
        out += intl[rnd() % (sizeof intl / sizeof *intl)];
      }
    }
    return out;
  }();
  return text;
}

void run_encode(benchmark::State& state, const std::string& text, bool special) {
  const Tokenizer& t = tok();
  size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = t.encode(text, false, special);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["tokens/s"] = benchmark::Counter(double(n_tokens) * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["bytes/token"] = double(text.size()) / double(n_tokens);
  state.counters["jit"] = t.regex_jit() ? 1 : 0;
}

void BM_EncodeMixed1MB(benchmark::State& state) { run_encode(state, mixed_text(), false); }
void BM_EncodeMixed1MBParseSpecial(benchmark::State& state) { run_encode(state, mixed_text(), true); }

// The parity corpus (valid strings only, concatenated up to ~1 MB): multilingual, code, long runs.
void BM_EncodeCorpus(benchmark::State& state) {
  static const std::string text = [] {
    std::string out;
    std::ifstream in(data_dir() + "/corpus.jsonl");
    std::string line;
    while (std::getline(in, line) && out.size() < (1u << 20)) {
      auto j = nlohmann::json::parse(line);
      if (j["check"] != "ids") continue;
      const std::string h = j["hex"];
      for (size_t i = 0; i + 1 < h.size(); i += 2) out += char(std::stoi(h.substr(i, 2), nullptr, 16));
      out += '\n';
    }
    return out;
  }();
  if (text.empty()) {
    state.SkipWithError("corpus.jsonl missing");
    return;
  }
  run_encode(state, text, true);
}

void BM_EncodeLongWord100KB(benchmark::State& state) {
  static const std::string text = [] {
    std::string s;
    uint32_t x = 7;
    while (s.size() < 100000) { x = x * 1103515245u + 12345u; s += char('a' + (x >> 16) % 26); }
    return s;
  }();
  run_encode(state, text, false);
}

void BM_EncodeSpaces1MB(benchmark::State& state) {
  static const std::string text(1 << 20, ' ');
  run_encode(state, text, false);
}

void BM_Decode(benchmark::State& state) {
  const Tokenizer& t = tok();
  const auto ids = t.encode(mixed_text(), false, false);
  for (auto _ : state) {
    std::string s = t.decode(ids);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(mixed_text().size()));
  state.counters["tokens/s"] = benchmark::Counter(double(ids.size()) * double(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_LoadVocabAndCreate(benchmark::State& state) {
  const std::string p = data_dir() + "/llama3-vocab.gguf";
  for (auto _ : state) {
    auto f = GgufFile::open(p);
    auto v = vocab_from_gguf(*f);
    auto t = Tokenizer::create(*v);
    benchmark::DoNotOptimize(t.is_ok());
  }
}

BENCHMARK(BM_EncodeMixed1MB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeMixed1MBParseSpecial)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeCorpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeLongWord100KB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeSpaces1MB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadVocabAndCreate)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
