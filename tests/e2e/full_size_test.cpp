// Acceptance on the exact published 2B4T shape: `bitnet synth --preset 2b4t` writes the official
// layout (~1.2 GB), and `bitnet run` maps it and generates with peak RSS near file size + KV cache.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "formats/gguf.h"
#include "test_tmp.h"

extern char** environ;

namespace bitnet {
namespace {

namespace fs = std::filesystem;

struct Child {
  int code = -1;
  long max_rss_kb = 0;
};

// Runs the bitnet binary with args, stdout/stderr to files; returns exit code and peak RSS.
Child spawn_bitnet(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  const std::string bin = std::string(BITNET_BINARY_DIR) + "/bin/bitnet";
  std::vector<char*> argv{const_cast<char*>(bin.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  Child c;
  if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) return c;
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  posix_spawn_file_actions_destroy(&fa);
  c.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  c.max_rss_kb = ru.ru_maxrss;
  return c;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(FullSize, Synth2b4tLoadsAndGeneratesWithinFilePlusKvMemory) {
  const fs::path dir = test_tmp_dir() / "full_size";
  fs::create_directories(dir);
  const std::string model = (dir / "2b4t-i2s.gguf").string();
  const std::string out = (dir / "out").string(), err = (dir / "err").string();
  Child s = spawn_bitnet({"synth", "-o", model, "--preset", "2b4t", "--weights", "i2_s"}, out, err);
  ASSERT_EQ(s.code, 0) << slurp(err);

  // The file has the official tensor count, types and sizes (spec §3.4, §8.2).
  {
    auto f = GgufFile::open(model);
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    EXPECT_EQ(f->tensors().size(), 332u);
    uint64_t data = 0, i2s = 0;
    for (const auto& t : f->tensors()) {
      data += t.nbytes;
      if (t.type == GgmlType::I2_S) ++i2s;
    }
    EXPECT_EQ(i2s, 210u);
    EXPECT_EQ(data, 1179449920u);
    EXPECT_EQ(f->find_tensor("blk.0.ffn_down.weight")->nbytes, 4423712u);
    EXPECT_EQ(f->find_tensor("output.weight"), nullptr);
  }

  const int64_t ctx = 256;
  Child r = spawn_bitnet({"run", "-m", model, "-p", "The capital of France is", "-n", "4", "--temp", "0",
                          "-c", std::to_string(ctx), "-t", "2"}, out, err);
  ASSERT_EQ(r.code, 0) << slurp(err);
  EXPECT_GT(slurp(out).size(), std::string("The capital of France is").size());
  // Peak RSS: mapped weights (at most the file) + KV cache (f16: 2 * 30 layers * ctx * 640 * 2 B)
  // + activations, vocabulary and runtime; 300 MB covers the last three with room to spare.
  const double file_mb = static_cast<double>(fs::file_size(model)) / 1e6;
  const double kv_mb = 2.0 * 30 * ctx * 640 * 2 / 1e6;
  const double rss_mb = static_cast<double>(r.max_rss_kb) * 1024 / 1e6;
  EXPECT_LT(rss_mb, file_mb + kv_mb + 300) << "peak RSS " << rss_mb << " MB for a " << file_mb << " MB file";
  fs::remove(model);
}

}  // namespace
}  // namespace bitnet
