// The CPU backend's ops through the Backend interface, for every kernel table on this machine and
// 1, 2 and 3 threads, against a single-threaded backend running the reference table:
// load_ternary (incl. repacking) + matmul_ternary with n = 1 and n = 64 (I2_S bit-identical, TQ
// within the op-suite tolerance), load_matrix + matmul_float, quantize_act, rmsnorm, rmsnorm_quantize; plus the
// reuse of prepared activation tables across consecutive matmuls and its invalidation.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "ops_util.h"

namespace bitnet::testing {
namespace {

MatrixSource source_of(const TernaryMatrix& w) {
  MatrixSource s;
  s.type = w.type;
  s.k = w.k;
  s.m = w.m;
  s.data = w.bytes.data();
  s.nbytes = w.bytes.size();
  s.name = "test." + type_name(w.type);
  return s;
}

TEST(OpsCpuBackend, MatmulTernaryMatchesReferenceBackend) {
  std::mt19937 rng(21);
  CpuBackend ref(1, &cpu::ref_kernels());
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (int threads : {1, 2, 3}) {
      CpuBackend be(threads, table);
      for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
        for (auto [k, m] : {std::pair<int64_t, int64_t>{2560, 160}, {768, 50}, {6912, 33}}) {
          if (quick_mode() && k == 6912) continue;
          const TernaryMatrix w = random_ternary(rng, type, k, m, Scales::kUniform);
          auto wr = ref.load_ternary(source_of(w));
          auto wb = be.load_ternary(source_of(w));
          ASSERT_TRUE(wr.is_ok() && wb.is_ok()) << wb.status().to_string();
          for (int64_t n : {int64_t{1}, quick_mode() ? int64_t{9} : int64_t{64}}) {
            std::vector<int8_t> q;
            std::vector<float> s;
            random_acts(rng, n, k, &q, &s);
            Host qr = make(ref, DType::I8, n, k, q.data()), sr = make(ref, DType::F32, n, 1, s.data());
            Host yr = make(ref, DType::F32, n, m);
            Host qb = make(be, DType::I8, n, k, q.data()), sb = make(be, DType::F32, n, 1, s.data());
            Host yb = make(be, DType::F32, n, m);
            ref.matmul_ternary(**wr, qr.t, sr.t, yr.t);
            be.matmul_ternary(**wb, qb.t, sb.t, yb.t);
            const auto a = read<float>(ref, yr.t), b = read<float>(be, yb.t);
            for (size_t i = 0; i < a.size(); ++i) {
              if (type == GgmlType::I2_S)
                ASSERT_EQ(float_bits(a[i]), float_bits(b[i])) << table->isa << " threads=" << threads << " n=" << n << " i=" << i;
              else
                ASSERT_NEAR(a[i], b[i], 1e-5f * std::fabs(a[i]) + 1e-4f) << table->isa << " threads=" << threads << " n=" << n;
            }
            ++cases;
          }
        }
      }
    }
  }
  std::printf("[ ops ] backend matmul_ternary: %d cases\n", cases);
}

TEST(OpsCpuBackend, OtherOpsMatchReferenceBackend) {
  std::mt19937 rng(22);
  CpuBackend ref(1, &cpu::ref_kernels());
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (int threads : {1, 2, 3}) {
      CpuBackend be(threads, table);
      const int64_t n = 5, d = 2560;
      std::vector<float> x(static_cast<size_t>(n * d)), g(static_cast<size_t>(d));
      std::normal_distribution<float> nd(0.0f, 1.5f);
      for (auto& v : x) v = nd(rng);
      for (auto& v : g) v = nd(rng);
      // quantize_act: bit-identical
      Host xr = make(ref, DType::F32, n, d, x.data()), xb = make(be, DType::F32, n, d, x.data());
      Host qr = make(ref, DType::I8, n, d), qb = make(be, DType::I8, n, d);
      Host sr = make(ref, DType::F32, n, 1), sb = make(be, DType::F32, n, 1);
      ref.quantize_act(xr.t, qr.t, sr.t);
      be.quantize_act(xb.t, qb.t, sb.t);
      EXPECT_EQ(read<int8_t>(ref, qr.t), read<int8_t>(be, qb.t)) << table->isa;
      EXPECT_EQ(read<float>(ref, sr.t), read<float>(be, sb.t)) << table->isa;
      // rmsnorm
      Host gr = make(ref, DType::F32, 1, d, g.data()), gb = make(be, DType::F32, 1, d, g.data());
      Host yr = make(ref, DType::F32, n, d), yb = make(be, DType::F32, n, d);
      ref.rmsnorm(xr.t, gr.t, 1e-5f, yr.t);
      be.rmsnorm(xb.t, gb.t, 1e-5f, yb.t);
      const auto a = read<float>(ref, yr.t), b2 = read<float>(be, yb.t);
      for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b2[i], 1e-6f * std::fabs(a[i]) + 1e-30f);
      // rmsnorm_quantize: the same bits as rmsnorm then quantize_act on this backend
      Host q2 = make(be, DType::I8, n, d), s2 = make(be, DType::F32, n, 1);
      be.quantize_act(yb.t, qb.t, sb.t);
      be.rmsnorm_quantize(xb.t, gb.t, 1e-5f, q2.t, s2.t);
      EXPECT_EQ(read<int8_t>(be, qb.t), read<int8_t>(be, q2.t)) << table->isa << " rmsnorm_quantize";
      EXPECT_EQ(read<float>(be, sb.t), read<float>(be, s2.t)) << table->isa << " rmsnorm_quantize";
      // matmul_float with an F16 and a Q8_0 head
      for (GgmlType ht : {GgmlType::F16, GgmlType::Q8_0}) {
        const int64_t m = 333;
        std::vector<float> wf(static_cast<size_t>(m * d));
        std::normal_distribution<float> wd(0.0f, 0.05f);
        for (auto& v : wf) v = wd(rng);
        std::vector<uint8_t> bytes;
        if (ht == GgmlType::F16) {
          bytes.resize(wf.size() * 2);
          f32_to_f16_row(wf.data(), m * d, reinterpret_cast<uint16_t*>(bytes.data()));
        } else {
          bytes.resize(static_cast<size_t>(m * d / 32 * 34));
          quantize_q8_0(wf.data(), m * d, bytes.data());
        }
        const MatrixSource src = matrix_source(ht, d, m, bytes, "head");
        auto hr = ref.load_matrix(src);
        auto hb = be.load_matrix(src);
        ASSERT_TRUE(hr.is_ok() && hb.is_ok());
        Host lr = make(ref, DType::F32, n, m), lb = make(be, DType::F32, n, m);
        ref.matmul_float(**hr, yr.t, lr.t);
        be.matmul_float(**hb, yb.t, lb.t);
        const auto la = read<float>(ref, lr.t), lbv = read<float>(be, lb.t);
        double scale = 0;
        for (float v : la) scale = std::max(scale, static_cast<double>(std::fabs(v)));
        for (size_t i = 0; i < la.size(); ++i)
          ASSERT_NEAR(la[i], lbv[i], (ht == GgmlType::Q8_0 ? 2e-2 : 1e-4) * scale) << table->isa << " " << type_name(ht);
      }
    }
  }
}

// Prepared activation tables are reused by consecutive matmuls on the same q (q/k/v, gate/up) and
// rebuilt when q changes (upload, quantize_act, any other op) or y overwrote q.
TEST(OpsCpuBackend, PreparedTablesFollowActivationChanges) {
  std::mt19937 rng(23);
  CpuBackend ref(1, &cpu::ref_kernels());
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    CpuBackend be(2, table);
    const int64_t k = 768, m = 48;
    const TernaryMatrix w1 = random_ternary(rng, GgmlType::TQ1_0, k, m, Scales::kUniform);
    const TernaryMatrix w2 = random_ternary(rng, GgmlType::TQ1_0, k, m, Scales::kPerBlock);
    auto a1 = be.load_ternary(source_of(w1)).value(), a2 = be.load_ternary(source_of(w2)).value();
    auto b1 = ref.load_ternary(source_of(w1)).value(), b2 = ref.load_ternary(source_of(w2)).value();
    std::vector<int8_t> q;
    std::vector<float> s;
    random_acts(rng, 1, k, &q, &s);
    Host qb = make(be, DType::I8, 1, k, q.data()), sb = make(be, DType::F32, 1, 1, s.data());
    Host qr = make(ref, DType::I8, 1, k, q.data()), sr = make(ref, DType::F32, 1, 1, s.data());
    Host yb = make(be, DType::F32, 1, m), yr = make(ref, DType::F32, 1, m);
    auto expect_same = [&](const Matrix& mb, const Matrix& mr, const char* what) {
      be.matmul_ternary(mb, qb.t, sb.t, yb.t);
      ref.matmul_ternary(mr, qr.t, sr.t, yr.t);
      const auto x = read<float>(be, yb.t), y = read<float>(ref, yr.t);
      for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-5f * std::fabs(y[i]) + 1e-4f) << table->isa << " " << what;
    };
    expect_same(*a1, *b1, "first");
    expect_same(*a2, *b2, "reuse");
    random_acts(rng, 1, k, &q, &s);
    be.upload(qb.t, q.data(), q.size());
    ref.upload(qr.t, q.data(), q.size());
    expect_same(*a1, *b1, "after upload");
  }
}

// rope / glu / add / kv_store + attention through the interface, every table and 1-3 threads,
// against direct scalar formulas (the model's e2e tests cover them again end to end).
TEST(OpsCpuBackend, ElementwiseRopeAttentionMatchFormulas) {
  std::mt19937 rng(24);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (int threads : {1, 2, 3}) {
      CpuBackend be(threads, table);
      const int64_t n = 6, heads = 4, hd = 16, kvh = 2, d = heads * hd;
      std::vector<float> x(static_cast<size_t>(n * d)), g(x.size()), u(x.size());
      for (auto* v : {&x, &g, &u})
        for (auto& e : *v) e = nd(rng);
      std::vector<int32_t> pos(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(3 + i * 7);
      Host xt = make(be, DType::F32, n, d, x.data()), gt = make(be, DType::F32, n, d, g.data());
      Host ut = make(be, DType::F32, n, d, u.data()), pt = make(be, DType::I32, n, 1, pos.data());
      // glu (in place, like the model) and add
      be.glu(gt.t, ut.t, GluAct::kRelu2, gt.t);
      const auto gl = read<float>(be, gt.t);
      for (size_t i = 0; i < gl.size(); ++i) {
        const float r = g[i] > 0 ? g[i] : 0.0f;
        ASSERT_NEAR(gl[i], r * r * u[i], 1e-6f * std::fabs(r * r * u[i]) + 1e-30f) << table->isa;
      }
      be.add(xt.t, ut.t, xt.t);
      const auto ad = read<float>(be, xt.t);
      for (size_t i = 0; i < ad.size(); ++i) ASSERT_FLOAT_EQ(ad[i], x[i] + u[i]);
      // rope, NeoX pairs, twice through the cache (same positions again)
      for (int rep = 0; rep < 2; ++rep) {
        Host rt = make(be, DType::F32, n, d, x.data());
        be.rope(rt.t, pt.t, static_cast<int>(heads), static_cast<int>(hd), 10000.0f, RopeStyle::kNeox);
        const auto ro = read<float>(be, rt.t);
        for (int64_t t = 0; t < n; ++t)
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < hd / 2; ++i) {
              const float inv = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / static_cast<float>(hd));
              const float a = static_cast<float>(pos[static_cast<size_t>(t)]) * inv;
              const float* v = x.data() + t * d + h * hd;
              // Tolerance relative to the terms: the difference cancels, and AArch64 compilers may fuse
              // either side's multiply-subtract into an FMA.
              const float want = v[i] * std::cos(a) - v[i + hd / 2] * std::sin(a);
              const float mag = std::fabs(v[i] * std::cos(a)) + std::fabs(v[i + hd / 2] * std::sin(a));
              ASSERT_NEAR(ro[static_cast<size_t>(t * d + h * hd + i)], want, 1e-6f * mag + 1e-30f);
            }
      }
      // kv_store (f16) + attention over 3 + n positions
      const int64_t ctx = 16, kd = kvh * hd;
      std::vector<float> k(static_cast<size_t>(n * kd)), v(k.size());
      for (auto& e : k) e = nd(rng);
      for (auto& e : v) e = nd(rng);
      Host kt = make(be, DType::F32, n, kd, k.data()), vt = make(be, DType::F32, n, kd, v.data());
      Host kc = make(be, DType::F16, ctx, kd), vc = make(be, DType::F16, ctx, kd);
      be.kv_store(kt.t, vt.t, kc.t, vc.t, 0);
      Host qt = make(be, DType::F32, n, d, x.data()), ot = make(be, DType::F32, n, d);
      AttentionParams ap{static_cast<int>(heads), static_cast<int>(kvh), static_cast<int>(hd), 0.25f};
      be.attention(qt.t, kc.t, vc.t, 0, ap, ot.t);
      const auto at = read<float>(be, ot.t);
      const auto kh = read<uint16_t>(be, kc.t), vh = read<uint16_t>(be, vc.t);
      for (int64_t t = 0; t < n; ++t)
        for (int64_t h = 0; h < heads; ++h) {
          const int64_t kv = h / (heads / kvh);
          std::vector<double> sc(static_cast<size_t>(t + 1));
          double mx = -1e30, sum = 0;
          for (int64_t j = 0; j <= t; ++j) {
            double s = 0;
            for (int64_t c = 0; c < hd; ++c)
              s += static_cast<double>(x[static_cast<size_t>(t * d + h * hd + c)]) * f16_to_f32(kh[static_cast<size_t>(j * kd + kv * hd + c)]);
            sc[static_cast<size_t>(j)] = s * 0.25;
            mx = std::max(mx, sc[static_cast<size_t>(j)]);
          }
          for (auto& e : sc) sum += (e = std::exp(e - mx));
          for (int64_t c = 0; c < hd; ++c) {
            double o = 0;
            for (int64_t j = 0; j <= t; ++j) o += sc[static_cast<size_t>(j)] / sum * f16_to_f32(vh[static_cast<size_t>(j * kd + kv * hd + c)]);
            ASSERT_NEAR(at[static_cast<size_t>(t * d + h * hd + c)], o, 1e-4) << table->isa << " threads=" << threads;
          }
        }
    }
  }
}

// Long caches: a decode step (CpuBackend splits the rows into slices and merges partial softmax
// results) and a prompt chunk (blocks of tokens per work item) must match the reference kernel.
TEST(OpsCpuBackend, LongContextAttentionMatchesReference) {
  std::mt19937 rng(25);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int heads = 8, kvh = 2, hd = 64, group = heads / kvh;
  const int64_t ctx = 3000, kd = kvh * hd;
  std::vector<uint16_t> kh(static_cast<size_t>(ctx * kd)), vh(kh.size());
  for (auto* c : {&kh, &vh})
    for (auto& e : *c) e = f32_to_f16(nd(rng));
  const int64_t max_tokens = 37;
  std::vector<float> q(static_cast<size_t>(max_tokens * heads * hd));
  for (auto& e : q) e = nd(rng);
  const std::pair<int64_t, int64_t> cases[] = {{5, 1}, {700, 1}, {ctx - 1, 1}, {700, max_tokens}, {0, max_tokens}};
  for (auto [pos, nt] : cases) {
    std::vector<float> want(static_cast<size_t>(nt * heads * hd));
    std::vector<float> sc(static_cast<size_t>(cpu::attention_scratch_floats(static_cast<int>(nt), group, pos + nt, hd)));
    for (int kv = 0; kv < kvh; ++kv) {
      cpu::AttnArgs a;
      a.q = q.data() + kv * group * hd;
      a.ldq = heads * hd;
      a.nq = static_cast<int>(nt);
      a.g = group;
      a.k = kh.data() + kv * hd;
      a.v = vh.data() + kv * hd;
      a.stride = kd;
      a.n = pos + nt;
      a.d = hd;
      a.scale = 0.125f;
      a.kv = cpu::KvFormat::F16;
      a.out = want.data() + kv * group * hd;
      a.ldo = heads * hd;
      a.scratch = sc.data();
      cpu::attention_f32_ref(a);
    }
    for (const cpu::KernelTable* table : cpu::available_kernels())
      for (int threads : {1, 2, 3}) {
        CpuBackend be(threads, table);
        Host qt = make(be, DType::F32, nt, heads * hd, q.data()), ot = make(be, DType::F32, nt, heads * hd);
        Host kc = make(be, DType::F16, ctx, kd, kh.data()), vc = make(be, DType::F16, ctx, kd, vh.data());
        be.attention(qt.t, kc.t, vc.t, pos, AttentionParams{heads, kvh, hd, 0.125f}, ot.t);
        const auto got = read<float>(be, ot.t);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-4f)
              << table->isa << " threads=" << threads << " pos=" << pos << " tokens=" << nt << " i=" << i;
      }
  }
}

TEST(OpsCpuBackend, RejectsBadTernaryShapes) {
  CpuBackend be(1);
  std::vector<uint8_t> bytes(1024, 0x55);
  MatrixSource s;
  s.type = GgmlType::TQ1_0;
  s.k = 200;
  s.m = 2;
  s.data = bytes.data();
  s.nbytes = bytes.size();
  s.name = "bad";
  EXPECT_FALSE(be.load_ternary(s).is_ok());
  s.type = GgmlType::I2_S;
  s.k = 100;
  s.m = 3;
  EXPECT_FALSE(be.load_ternary(s).is_ok());
}

}  // namespace
}  // namespace bitnet::testing
