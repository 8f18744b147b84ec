// The fused kernels against their unfused counterparts (same bits), the AVX2 build
// against the baseline build (same bits), column blocks of stacks against contiguous
// copies, and the fast loops against the same formulas as ATen operations.
#include "optimizers/kernels.h"

#include <torch/torch.h>

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/kernels_table.h"
#include "optimizers/window_smoothing.h"

namespace gs::kernels {
namespace {

std::vector<const KernelTable*> Tables() {
  std::vector<const KernelTable*> tables{&baseline_table()};
  if (__builtin_cpu_supports("avx2")) tables.push_back(&avx2_table());
  return tables;
}

struct Stack {
  torch::Tensor p, g, m, v;
};

// Shapes [L, 3, 1500]: 4500 columns cover two full chunks and a partial one.
Stack RandomStack(int64_t depth, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({depth, 3, 1500}), torch::randn({depth, 3, 1500}),
          torch::randn({depth, 3, 1500}) * 0.1, torch::rand({depth, 3, 1500}) * 0.01};
}

Stack Clone(const Stack& s) { return {s.p.clone(), s.g.clone(), s.m.clone(), s.v.clone()}; }

bool Same(const Stack& a, const Stack& b) {
  return torch::equal(a.p, b.p) && torch::equal(a.m, b.m) && torch::equal(a.v, b.v);
}

const AdamWHyper kAdamW{0.9, 0.95, 1e-8, 1 - 0.9 * 0.9, 1 - 0.95 * 0.95};

TEST(Kernels, FusedStepsGiveTheBitsOfTheirParts) {
  for (const KernelTable* k : Tables()) {
    for (int64_t depth = 1; depth <= 8; ++depth) {
      for (int64_t radius = 1; radius <= 3; ++radius) {
        const DepthMix mix =
            WindowSmoothing(WindowSmoothingOptions().alpha(0.2).radius(radius)).BaseMix(depth);
        const Stack start = RandomStack(depth, depth * 10 + radius);
        // AdamW: mixed step vs direction + mixed update.
        Stack fused = Clone(start), parts = Clone(start);
        k->adamw_mixed_step(mix, fused.p, fused.g, fused.m, fused.v, kAdamW, 1e-2, 0.1);
        torch::Tensor d = torch::empty_like(start.p);
        k->adamw_direction(parts.g, parts.m, parts.v, d, kAdamW);
        k->apply_mixed_update(mix, parts.p, d, 1e-2, 0.1);
        EXPECT_TRUE(Same(fused, parts)) << "adamw depth " << depth << " radius " << radius;
        // AdamW step vs direction + update.
        fused = Clone(start);
        parts = Clone(start);
        k->adamw_step(fused.p, fused.g, fused.m, fused.v, kAdamW, 1e-2, 0.1);
        k->adamw_direction(parts.g, parts.m, parts.v, d, kAdamW);
        k->apply_update(parts.p, d, 1e-2, 0.1);
        EXPECT_TRUE(Same(fused, parts)) << "adamw step depth " << depth;
        // SGD, every switch: mixed step and step vs direction + update.
        for (bool nesterov : {false, true}) {
          for (bool first : {false, true}) {
            const SgdHyper h{0.9, 0.0, 1e-2, nesterov, first};
            fused = Clone(start);
            parts = Clone(start);
            k->sgd_mixed_step(mix, fused.p, fused.g, fused.m, h, 0.05);
            k->sgd_direction(parts.p, parts.g, parts.m, d, h);
            k->apply_mixed_update(mix, parts.p, d, 0.05, 0.0);
            EXPECT_TRUE(Same(fused, parts)) << "sgd mixed nesterov " << nesterov << " first " << first;
            fused = Clone(start);
            parts = Clone(start);
            k->sgd_step(fused.p, fused.g, fused.m, h, 0.05);
            k->sgd_direction(parts.p, parts.g, parts.m, d, h);
            k->apply_update(parts.p, d, 0.05, 0.0);
            EXPECT_TRUE(Same(fused, parts)) << "sgd step nesterov " << nesterov << " first " << first;
          }
        }
      }
    }
  }
}

TEST(Kernels, InstructionSetsGiveTheSameBits) {
  const std::vector<const KernelTable*> tables = Tables();
  if (tables.size() < 2) GTEST_SKIP() << "this processor has no AVX2";
  const DepthMix mix = WindowSmoothing(WindowSmoothingOptions().alpha(0.3).radius(2)).BaseMix(6);
  std::vector<Stack> results;
  std::vector<std::vector<double>> norms;
  for (const KernelTable* k : tables) {
    Stack s = RandomStack(6, 7);
    k->adamw_mixed_step(mix, s.p, s.g, s.m, s.v, kAdamW, 1e-2, 0.1);
    torch::Tensor momentum = s.g * 0.5;
    k->sgd_mixed_step(mix, s.p, s.g, momentum, {0.9, 0.1, 1e-3, false, false}, 0.05);
    k->adamw_step(s.p, s.g, s.m, s.v, kAdamW, 1e-2, 0.1);
    torch::Tensor out = torch::empty_like(s.p);
    k->mix(mix, s.g, out);
    s.g = out;
    results.push_back(s);
    norms.push_back(k->block_norms(s.p));
    std::vector<double> mixed = k->mixed_block_norms(mix, s.m);
    norms.back().insert(norms.back().end(), mixed.begin(), mixed.end());
  }
  EXPECT_TRUE(Same(results[0], results[1]));
  EXPECT_FALSE(results[0].p.isnan().any().item<bool>());
  EXPECT_TRUE(torch::equal(results[0].g, results[1].g));
  EXPECT_EQ(norms[0], norms[1]);
}

TEST(Kernels, ColumnBlocksOfStacksMatchContiguousCopies) {
  Stack s = RandomStack(5, 3);
  torch::Tensor p = s.p.view({5, -1}), g = s.g.view({5, -1}), m = s.m.view({5, -1}),
                v = s.v.view({5, -1});
  // A column block: rows of 1000 contiguous elements, 4500 apart.
  auto block = [](torch::Tensor t) { return t.slice(1, 1000, 2000); };
  torch::Tensor bp = block(p), bg = block(g), bm = block(m), bv = block(v);
  ASSERT_FALSE(bp.is_contiguous());
  torch::Tensor cp = bp.clone(), cg = bg.clone(), cm = bm.clone(), cv = bv.clone();
  AdamWStep(bp, bg, bm, bv, kAdamW, 1e-2, 0.1);
  AdamWStep(cp, cg, cm, cv, kAdamW, 1e-2, 0.1);
  EXPECT_TRUE(torch::equal(bp, cp));
  EXPECT_TRUE(torch::equal(bm, cm));
  // Columns outside the block are untouched.
  EXPECT_TRUE(torch::equal(p.slice(1, 0, 1000), s.p.view({5, -1}).slice(1, 0, 1000)));
  const DepthMix mix = WindowSmoothing().BaseMix(5);
  torch::Tensor d = torch::randn({5, 1000});
  ApplyMixedUpdate(mix, bp, d, 0.1, 0.01);
  ApplyMixedUpdate(mix, cp, d, 0.1, 0.01);
  EXPECT_TRUE(torch::equal(bp, cp));
}

TEST(Kernels, FastLoopsAgreeWithTheFormulasAsATenOperations) {
  // Transposed views have no contiguous rows: the kernels fall back to ATen
  // operations, which must compute the same formulas (to rounding).
  Stack s = RandomStack(4, 11);
  auto t = [](const torch::Tensor& x) { return x.view({4, -1}).t().contiguous().t(); };
  torch::Tensor p = t(s.p), g = t(s.g), m = t(s.m), v = t(s.v);
  ASSERT_NE(p.stride(1), 1);
  torch::Tensor fp = s.p.view({4, -1}).clone(), fm = s.m.view({4, -1}).clone(),
                fv = s.v.view({4, -1}).clone();
  const torch::Tensor fg = s.g.view({4, -1});
  AdamWStep(p, g, m, v, kAdamW, 1e-2, 0.1);
  AdamWStep(fp, fg, fm, fv, kAdamW, 1e-2, 0.1);
  EXPECT_TRUE(torch::allclose(p, fp, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(v, fv, 1e-6, 1e-7));
  const DepthMix mix = WindowSmoothing(WindowSmoothingOptions().radius(2)).BaseMix(4);
  torch::Tensor out = torch::empty_like(g), fout = torch::empty_like(fg);
  Mix(mix, g, out);
  Mix(mix, fg, fout);
  EXPECT_TRUE(torch::allclose(out, fout, 1e-6, 1e-6));
  const SgdHyper h{0.9, 0.0, 1e-2, true, false};
  SgdStep(p, g, m, h, 0.05);
  SgdStep(fp, fg, fm, h, 0.05);
  EXPECT_TRUE(torch::allclose(p, fp, 1e-6, 1e-6));
}

}  // namespace
}  // namespace gs::kernels
