// Linear CKA and the increment cosine against hand-computed values and a reference loop
// over the sample-space (Gram matrix) form, which the code under test does not use.
#include "tasks/harness/depth_analysis.h"

#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "gtest/gtest.h"

namespace gs::tasks {
namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix ToMatrix(const at::Tensor& t) {
  at::Tensor d = t.to(at::kDouble).contiguous();
  Matrix m(d.size(0), std::vector<double>(d.size(1)));
  for (int64_t i = 0; i < d.size(0); ++i)
    for (int64_t j = 0; j < d.size(1); ++j) m[i][j] = d[i][j].item<double>();
  return m;
}

// CKA = tr(K L) / sqrt(tr(K K) tr(L L)) with K = Xc Xc^T, L = Yc Yc^T (Kornblith et al.).
double ReferenceCka(const Matrix& x, const Matrix& y) {
  const size_t n = x.size();
  auto centre = [n](Matrix m) {
    for (size_t j = 0; j < m[0].size(); ++j) {
      double mean = 0;
      for (size_t i = 0; i < n; ++i) mean += m[i][j] / n;
      for (size_t i = 0; i < n; ++i) m[i][j] -= mean;
    }
    return m;
  };
  auto gram = [n](const Matrix& m) {
    Matrix g(n, std::vector<double>(n, 0.0));
    for (size_t i = 0; i < n; ++i)
      for (size_t k = 0; k < n; ++k)
        for (size_t j = 0; j < m[0].size(); ++j) g[i][k] += m[i][j] * m[k][j];
    return g;
  };
  const Matrix k = gram(centre(x)), l = gram(centre(y));
  double kl = 0, kk = 0, ll = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      kl += k[i][j] * l[j][i];
      kk += k[i][j] * k[j][i];
      ll += l[i][j] * l[j][i];
    }
  return kl / std::sqrt(kk * ll);
}

TEST(LinearCka, OneFeatureIsTheSquaredCorrelation) {
  // x centred (-1.5, -0.5, 0.5, 1.5); y = (1, 2, 4, 3) centred (-1.5, -0.5, 1.5, 0.5):
  // x.y = 2.25 + 0.25 + 0.75 + 0.75 = 4, |x|^2 = |y|^2 = 5, so CKA = 16 / 25.
  at::Tensor x = torch::tensor({1.0, 2.0, 3.0, 4.0}).view({4, 1});
  at::Tensor y = torch::tensor({1.0, 2.0, 4.0, 3.0}).view({4, 1});
  EXPECT_NEAR(LinearCka(x, y), 0.64, 1e-12);
  // (1, 0, 0, 1) is orthogonal to x after centring.
  EXPECT_NEAR(LinearCka(x, torch::tensor({1.0, 0.0, 0.0, 1.0}).view({4, 1})), 0.0, 1e-12);
}

TEST(LinearCka, MatchesTheGramMatrixFormOnRandomData) {
  torch::manual_seed(3);
  for (int64_t p2 : {1, 3, 7}) {
    at::Tensor x = torch::randn({9, 5});
    at::Tensor y = torch::randn({9, p2}) + 0.5 * x.slice(1, 0, 1);
    EXPECT_NEAR(LinearCka(x, y), ReferenceCka(ToMatrix(x), ToMatrix(y)), 1e-12) << p2;
    EXPECT_NEAR(LinearCka(x, y), LinearCka(y, x), 1e-12);
  }
}

TEST(LinearCka, InvariantToRotationScaleAndShift) {
  torch::manual_seed(4);
  at::Tensor x = torch::randn({20, 6}, torch::kDouble);
  at::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({6, 6}, torch::kDouble)));
  at::Tensor y = 3.0 * torch::mm(x, q) + torch::randn({1, 6}, torch::kDouble);
  EXPECT_NEAR(LinearCka(x, y), 1.0, 1e-12);
}

TEST(AnalyzeChain, RecordsCkaAndIncrementCosinesAsDefined) {
  // Two samples, two features, three blocks. Increments (output - input):
  //   block 0: (1, 0), (0, 1); block 1: (1, 1), (0, 2); block 2: (-1, -1), (0, 0).
  // cos(inc0, inc1) per sample: 1/sqrt(2) and 1 -> mean (1/sqrt(2) + 1) / 2.
  // cos(inc1, inc2): -1 and 0 (a zero increment counts as 0) -> mean -0.5.
  at::Tensor h0 = torch::tensor({{0.0, 0.0}, {1.0, 1.0}});
  at::Tensor h1 = h0 + torch::tensor({{1.0, 0.0}, {0.0, 1.0}});
  at::Tensor h2 = h1 + torch::tensor({{1.0, 1.0}, {0.0, 2.0}});
  at::Tensor h3 = h2 + torch::tensor({{-1.0, -1.0}, {0.0, 0.0}});
  const nlohmann::json r = AnalyzeChain({{h0, h1}, {h1, h2}, {h2, h3}});
  EXPECT_EQ(r["blocks"], 3);
  EXPECT_EQ(r["samples"], 2);
  EXPECT_NEAR(r["increment_cosine"][0].get<double>(), (1 / std::sqrt(2.0) + 1) / 2, 1e-12);
  EXPECT_NEAR(r["increment_cosine"][1].get<double>(), -0.5, 1e-12);
  EXPECT_NEAR(r["mean_increment_cosine"].get<double>(), ((1 / std::sqrt(2.0) + 1) / 2 - 0.5) / 2, 1e-12);
  const Matrix outputs[] = {ToMatrix(h1), ToMatrix(h2), ToMatrix(h3)};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double expected = i == j ? 1.0 : ReferenceCka(outputs[i], outputs[j]);
      EXPECT_NEAR(r["cka"][i][j].get<double>(), expected, 1e-12) << i << "," << j;
    }
  }
  EXPECT_NEAR(r["adjacent_cka"][1].get<double>(), r["cka"][1][2].get<double>(), 0);
  EXPECT_NEAR(r["mean_adjacent_cka"].get<double>(),
              (r["cka"][0][1].get<double>() + r["cka"][1][2].get<double>()) / 2, 1e-15);
}

}  // namespace
}  // namespace gs::tasks
