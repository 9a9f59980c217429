// The `bitnet` executable on good and bad input: bad input gives one clear error line on stderr
// and a non-zero exit, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "formats/gguf.h"
#include "test_tmp.h"
#include "model/synth.h"

namespace bitnet {
namespace {

namespace fs = std::filesystem;

struct CliResult {
  int code = -1;
  std::string out, err;
};

CliResult run(const std::string& args, const std::string& stdin_text = "") {
  const fs::path dir = test_tmp_dir() / "cli";
  fs::create_directories(dir);
  const std::string in = (dir / "in").string(), out = (dir / "out").string(), err = (dir / "err").string();
  std::ofstream(in) << stdin_text;
  const std::string cmd = std::string(BITNET_BINARY_DIR) + "/bin/bitnet " + args + " <" + in + " >" + out + " 2>" + err;
  CliResult r;
  const int st = std::system(cmd.c_str());
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

const std::string& tiny_model() {
  static const std::string path = [] {
    const std::string p = (test_tmp_dir() / "cli_test_tiny.gguf").string();
    SynthOptions o;
    EXPECT_TRUE(synth_model(o, p).is_ok());
    return p;
  }();
  return path;
}

// Exit code 1 and exactly one error line, the last on stderr (informational lines such as the
// device summary may precede it).
void expect_one_error_line(const CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.code, 1) << r.err;
  const size_t at = r.err.find("bitnet: error: ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_TRUE(at == 0 || r.err[at - 1] == '\n') << r.err;
  EXPECT_EQ(r.err.find("bitnet: error: ", at + 1), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n', at), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find(needle, at), std::string::npos) << r.err;
}

TEST(Cli, RunGeneratesAndPrintsTiming) {
  CliResult r = run("run -m " + tiny_model() + " -p 'Hello' -n 8 --temp 0 -t 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Hello", 0), 0u);
  EXPECT_GT(r.out.size(), 6u);
  EXPECT_NE(r.err.find("timing: prompt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("device: requested=auto"), std::string::npos) << r.err;
  // Greedy decoding is deterministic.
  EXPECT_EQ(run("run -m " + tiny_model() + " -p 'Hello' -n 8 --temp 0 -t 1").out, r.out);
}

TEST(Cli, MissingFile) { expect_one_error_line(run("run -m /nonexistent.gguf -p x"), "no such file"); }

TEST(Cli, TruncatedFile) {
  const std::string p = (test_tmp_dir() / "cli_truncated.gguf").string();
  fs::copy_file(tiny_model(), p, fs::copy_options::overwrite_existing);
  fs::resize_file(p, fs::file_size(p) / 2);
  expect_one_error_line(run("run -m " + p + " -p x"), "extends past the end of the file");
}

TEST(Cli, NotAGguf) {
  const std::string p = (test_tmp_dir() / "cli_garbage.gguf").string();
  std::ofstream(p) << "this is not a model file at all";
  expect_one_error_line(run("inspect " + p), "magic");
}

TEST(Cli, UnknownArchitecture) {
  GgufWriter w;
  w.set_string("general.architecture", "mamba");
  const std::string p = (test_tmp_dir() / "cli_mamba.gguf").string();
  ASSERT_TRUE(w.write(p).is_ok());
  expect_one_error_line(run("run -m " + p + " -p x"), "architecture 'mamba' is not supported");
}

TEST(Cli, PromptLongerThanContext) {
  expect_one_error_line(run("run -m " + tiny_model() + " -c 8 -p 'a b c d e f g h i j k l m n o p'"),
                        "does not fit the context");
}

// K-quant heads through the CLI: synth writes a Q4_K token_embd that `run` loads, and `run --head
// q6_k` converts an F16 head at load (tests/e2e/kquant_head_test.cpp checks the logits).
TEST(Cli, KQuantHeads) {
  const std::string q4 = (test_tmp_dir() / "cli_synth_q4k.gguf").string();
  CliResult s = run("synth -o " + q4 + " --head q4_k --vocab bytes");
  ASSERT_EQ(s.code, 0) << s.err;
  CliResult r = run("run -m " + q4 + " -p 'Hello' -n 8 --temp 0 -t 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("q4_k"), std::string::npos) << r.err;
  CliResult r6 = run("run -m " + tiny_model() + " -p 'Hello' -n 8 --temp 0 -t 2 --head q6_k");
  ASSERT_EQ(r6.code, 0) << r6.err;
  EXPECT_NE(r6.err.find("q6_k"), std::string::npos) << r6.err;
  expect_one_error_line(run("synth -o " + q4 + " --head q5_k"), "--head must be f16, q8_0, q6_k or q4_k");
}

TEST(Cli, BadOptionValues) {
  expect_one_error_line(run("run -m " + tiny_model() + " -p x --kv-type q4"), "--kv-type");
  expect_one_error_line(run("run -m " + tiny_model() + " -p x --head q5_k"), "--head");
  expect_one_error_line(run("run -m " + tiny_model() + " -p x --device tpu"), "tpu");
  expect_one_error_line(run("run -m " + tiny_model() + " -p x --device cuda"), "available: [cpu");
  EXPECT_NE(run("synth -o " + (test_tmp_dir() / "x.gguf").string() + " --preset huge").code, 0);
  EXPECT_NE(run("frobnicate").code, 0);
}

TEST(Cli, BenchReportsEveryTestAtEveryDepth) {
  CliResult r = run("bench -m " + tiny_model() + " -p 8 -n 4 -d 0 -d 16 -r 2 -t 2 --no-bw --json");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* t : {"\"test\": \"pp8\"", "\"test\": \"tg4\"", "\"test\": \"pp8@d16\"", "\"test\": \"tg4@d16\"",
                        "\"n_depth\": 16", "\"logits_hash\""})
    EXPECT_NE(r.out.find(t), std::string::npos) << t << "\n" << r.out;
  expect_one_error_line(run("bench -m " + tiny_model() + " -p 8 -n 4 -d -1 --no-bw"), "-d");
  expect_one_error_line(run("bench -m " + tiny_model() + " -c 64 -p 8 -n 4 -d 60 --no-bw"), "context");
}

TEST(Cli, PerplexityPrintsPplLast) {
  const std::string p = (test_tmp_dir() / "cli_text.txt").string();
  std::ofstream f(p);
  for (int i = 0; i < 40; ++i) f << "The quick brown fox jumps over the lazy dog. ";
  f.close();
  CliResult r = run("perplexity -m " + tiny_model() + " -f " + p + " -c 128 -t 2");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto last = r.out.substr(r.out.rfind("PPL = "));
  const double ppl = std::stod(last.substr(6));
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 1e6);
  expect_one_error_line(run("perplexity -m " + tiny_model() + " -f " + p + " -c 100000"), "need at least");
}

TEST(Cli, ChatRepl) {
  CliResult r = run("chat -m " + tiny_model() + " -n 4 --temp 0 -c 256", "hello\n/clear\nagain\n/exit\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("conversation cleared"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);  // two replies
}

TEST(Cli, InspectShowsOfficialKeys) {
  CliResult r = run("inspect " + tiny_model());
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("general.architecture"), std::string::npos);
  EXPECT_NE(r.out.find("i2_s"), std::string::npos);
}

// `synth --arch bitnet` writes the SiLU-GLU architecture mainline llama.cpp loads (same tensors,
// keys under the "bitnet." prefix); the engine runs it, and its output differs from the relu²
// bitnet-b1.58 model with the same weights.
TEST(Cli, SynthArch) {
  const std::string b = (test_tmp_dir() / "cli_synth_bitnet.gguf").string();
  const std::string b158 = (test_tmp_dir() / "cli_synth_b158.gguf").string();
  CliResult s = run("synth -o " + b + " --arch bitnet --weights tq2_0 --vocab bytes");
  ASSERT_EQ(s.code, 0) << s.err;
  ASSERT_EQ(run("synth -o " + b158 + " --arch bitnet-b1.58 --weights tq2_0 --vocab bytes").code, 0);
  auto f = GgufFile::open(b);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(*f->get_string("general.architecture"), "bitnet");
  EXPECT_NE(f->find("bitnet.block_count"), nullptr);
  EXPECT_EQ(f->find("bitnet-b1.58.block_count"), nullptr);
  CliResult r = run("run -m " + b + " -p 'Hello' -n 8 --temp 0 -t 1");
  ASSERT_EQ(r.code, 0) << r.err;
  CliResult r158 = run("run -m " + b158 + " -p 'Hello' -n 8 --temp 0 -t 1");
  ASSERT_EQ(r158.code, 0) << r158.err;
  EXPECT_NE(r.out, r158.out);
  EXPECT_NE(run("synth -o " + b + " --arch llama").code, 0);
}

}  // namespace
}  // namespace bitnet
