#include "tasks/harness/depth_analysis.h"

#include <ATen/ATen.h>

namespace gs::tasks {
namespace {

// Columns centred, in double: CKA is defined on centred features.
at::Tensor Centred(const at::Tensor& x) {
  at::Tensor d = x.to(at::kDouble).reshape({x.size(0), -1});
  return d - d.mean(0, /*keepdim=*/true);
}

// The feature-space form: p x p products, cheap when samples outnumber features.
double CkaCentred(const at::Tensor& x, const at::Tensor& y) {
  const double cross = at::mm(y.t(), x).pow(2).sum().item<double>();
  const double xx = at::mm(x.t(), x).norm().item<double>();
  const double yy = at::mm(y.t(), y).norm().item<double>();
  return xx > 0 && yy > 0 ? cross / (xx * yy) : 0.0;
}

}  // namespace

double LinearCka(const at::Tensor& x, const at::Tensor& y) {
  return CkaCentred(Centred(x), Centred(y));
}

nlohmann::json AnalyzeChain(const ChainTrace& trace) {
  const size_t n = trace.size();
  std::vector<at::Tensor> outputs, increments;
  for (const BlockIO& io : trace) {
    outputs.push_back(Centred(io.output));
    increments.push_back((io.output.to(at::kDouble) - io.input.to(at::kDouble))
                             .reshape({io.output.size(0), -1}));
  }
  nlohmann::json cka = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (size_t j = 0; j < n; ++j) {
      row.push_back(i == j ? 1.0 : CkaCentred(outputs[i], outputs[j]));
    }
    cka.push_back(row);
  }
  nlohmann::json adjacent = nlohmann::json::array(), cosine = nlohmann::json::array();
  double adjacent_sum = 0.0, cosine_sum = 0.0;
  for (size_t l = 0; l + 1 < n; ++l) {
    const double a = cka[l][l + 1].get<double>();
    // Mean over samples of the per-sample cosine; a zero increment counts as 0.
    const at::Tensor& u = increments[l];
    const at::Tensor& v = increments[l + 1];
    const at::Tensor norms = u.norm(2, 1) * v.norm(2, 1);
    const at::Tensor dots = (u * v).sum(1);
    const double c =
        at::where(norms > 0, dots / norms.clamp_min(1e-300), at::zeros_like(dots)).mean().item<double>();
    adjacent.push_back(a);
    cosine.push_back(c);
    adjacent_sum += a;
    cosine_sum += c;
  }
  const double pairs = n > 1 ? static_cast<double>(n - 1) : 1.0;
  return {{"blocks", n},
          {"samples", n > 0 ? trace[0].output.size(0) : 0},
          {"cka", cka},
          {"adjacent_cka", adjacent},
          {"mean_adjacent_cka", adjacent_sum / pairs},
          {"increment_cosine", cosine},
          {"mean_increment_cosine", cosine_sum / pairs}};
}

}  // namespace gs::tasks
