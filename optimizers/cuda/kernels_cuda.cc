#include "optimizers/cuda/kernels_cuda.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <vector>

#include <ATen/ATen.h>

#include "optimizers/cuda/launch.h"

namespace gs::kernels::cuda {
namespace {

bool Applies(std::initializer_list<const at::Tensor*> tensors) {
  const at::Tensor& first = **tensors.begin();
  if (first.dim() < 1 ||
      (first.scalar_type() != at::kFloat && first.scalar_type() != at::kDouble)) {
    return false;
  }
  for (const at::Tensor* t : tensors) {
    if (!t->is_cuda() || !t->is_contiguous() || t->scalar_type() != first.scalar_type() ||
        t->sizes() != first.sizes()) {
      return false;
    }
  }
  return true;
}

// A DepthMix copied to the device (weights rounded to T on the host, as the CPU's
// TypedMix does); the tensors keep the memory alive until the kernel has been queued
// behind them on the same stream.
template <typename T>
struct MixOnDevice {
  at::Tensor start, from, weight;
  DeviceMix<T> view;
  bool fits = true;
  MixOnDevice(const DepthMix& mix, const at::Device& device) {
    std::vector<int32_t> starts{0}, froms;
    std::vector<T> weights;
    int64_t reach = 0;
    for (int64_t l = 0; l < mix.depth(); ++l) {
      for (const DepthMix::Term& t : mix.rows[l]) {
        froms.push_back(static_cast<int32_t>(t.from));
        weights.push_back(static_cast<T>(t.weight));
        reach = std::max<int64_t>(reach, std::abs(t.from - l));
      }
      starts.push_back(static_cast<int32_t>(froms.size()));
    }
    fits = reach <= kMaxReach;
    froms.push_back(0);  // never empty
    weights.push_back(T(0));
    const auto to = at::TensorOptions().device(device);
    start = at::tensor(at::ArrayRef<int32_t>(starts), at::kInt).to(to);
    from = at::tensor(at::ArrayRef<int32_t>(froms), at::kInt).to(to);
    weight = at::tensor(at::ArrayRef<T>(weights), c10::CppTypeToScalarType<T>::value).to(to);
    view = {start.data_ptr<int32_t>(), from.data_ptr<int32_t>(), weight.data_ptr<T>(),
            static_cast<int32_t>(mix.depth()), static_cast<int32_t>(reach)};
  }
};

int64_t Columns(const at::Tensor& t) { return t.size(0) == 0 ? 0 : t.numel() / t.size(0); }

void Check(const char* error, const char* what) {
  TORCH_CHECK(error == nullptr, what, " (CUDA): ", error);
}

}  // namespace

bool AdamWMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& m,
                    at::Tensor& v, const AdamWHyper& h, double lr, double wd) {
  if (!Applies({&p, &g, &m, &v}) || p.size(0) != mix.depth()) return false;
  bool done = false;
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "AdamWMixedStep", [&] {
    using T = scalar_t;
    const MixOnDevice<T> device_mix(mix, p.device());
    if (!device_mix.fits) return;
    const AdamWOperands<T> stack{p.data_ptr<T>(), g.data_ptr<T>(), m.data_ptr<T>(),
                                 v.data_ptr<T>(), nullptr};
    Check(cuda::AdamWMixedStep(device_mix.view, stack, MakeAdamWConstants<T>(h),
                               static_cast<T>(1.0 - lr * wd), static_cast<T>(lr), Columns(p)),
          "AdamWMixedStep");
    done = true;
  });
  return done;
}

bool SgdMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& buf,
                  const SgdHyper& h, double lr) {
  const bool momentum = h.momentum != 0.0;
  if (!(momentum ? Applies({&p, &g, &buf}) : Applies({&p, &g})) || p.size(0) != mix.depth()) {
    return false;
  }
  bool done = false;
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "SgdMixedStep", [&] {
    using T = scalar_t;
    const MixOnDevice<T> device_mix(mix, p.device());
    if (!device_mix.fits) return;
    const SgdOperands<T> stack{p.data_ptr<T>(), g.data_ptr<T>(),
                               momentum ? buf.data_ptr<T>() : nullptr, nullptr};
    Check(cuda::SgdMixedStep(device_mix.view, stack, h, static_cast<T>(lr), Columns(p)),
          "SgdMixedStep");
    done = true;
  });
  return done;
}

bool ApplyMixedUpdate(const DepthMix& mix, at::Tensor& p, const at::Tensor& d, double lr,
                      double wd) {
  if (!Applies({&p, &d}) || p.size(0) != mix.depth()) return false;
  bool done = false;
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "ApplyMixedUpdate", [&] {
    using T = scalar_t;
    const MixOnDevice<T> device_mix(mix, p.device());
    if (!device_mix.fits) return;
    Check(cuda::MixedUpdate(device_mix.view, p.data_ptr<T>(), d.data_ptr<T>(),
                            static_cast<T>(1.0 - lr * wd), static_cast<T>(lr), Columns(p)),
          "ApplyMixedUpdate");
    done = true;
  });
  return done;
}

}  // namespace gs::kernels::cuda
