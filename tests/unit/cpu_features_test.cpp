// cpu_features(): internal consistency of the detected flags and their names.
#include "core/cpu_features.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace bitnet {
namespace {

TEST(CpuFeatures, ArchMatchesTheBuild) {
  const CpuFeatures& f = cpu_features();
#if defined(__x86_64__)
  EXPECT_EQ(f.arch, "x86_64");
  EXPECT_TRUE(f.sse42);
  EXPECT_FALSE(f.neon);
#elif defined(__aarch64__)
  EXPECT_EQ(f.arch, "aarch64");
  EXPECT_TRUE(f.neon);
  EXPECT_FALSE(f.avx2);
#endif
  EXPECT_EQ(&f, &cpu_features());  // detected once
}

TEST(CpuFeatures, ImpliedFeaturesAreConsistent) {
  const CpuFeatures& f = cpu_features();
  // Every AVX-512 subset needs the foundation, and AVX2 needs AVX (OS state included).
  if (f.avx512bw || f.avx512vl || f.avx512dq || f.avx512vnni || f.avx512vbmi || f.avx512bf16) {
    EXPECT_TRUE(f.avx512f);
  }
  if (f.avx512f) {
    EXPECT_TRUE(f.avx2);
  }
  if (f.avx2 || f.fma || f.f16c || f.avxvnni) {
    EXPECT_TRUE(f.avx);
  }
  if (f.i8mm || f.dotprod || f.sve) {
    EXPECT_TRUE(f.neon);
  }
  if (f.sve2) {
    EXPECT_TRUE(f.sve);
  }
}

TEST(CpuFeatures, NamesListExactlyTheSetFlags) {
  CpuFeatures f;
  EXPECT_TRUE(cpu_feature_names(f).empty());
  f.avx2 = f.avx512vnni = f.dotprod = f.sme = true;
  EXPECT_EQ(cpu_feature_names(f),
            (std::vector<std::string>{"avx2", "avx512vnni", "dotprod", "sme"}));
  const auto names = cpu_feature_names(cpu_features());
  EXPECT_EQ(std::find(names.begin(), names.end(), "avx2") != names.end(), cpu_features().avx2);
  EXPECT_EQ(std::find(names.begin(), names.end(), "neon") != names.end(), cpu_features().neon);
}

}  // namespace
}  // namespace bitnet
