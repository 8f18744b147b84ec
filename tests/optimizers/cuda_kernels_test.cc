// The fused CUDA kernels (optimizers/cuda, built by nvcc) against the CPU's fused loops
// (kernels.h), bit for bit: the smoothed AdamW and SGD steps and the mixed update with a
// data-dependent mix, on random stacks of several depths and radii, float and double.
// Every build links the kernels; without a usable GPU the comparison is skipped and the
// test checks that a launch reports the CUDA error instead of crashing.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "optimizers/cuda/launch.h"
#include "optimizers/kernels.h"
#include "optimizers/window_smoothing.h"

namespace gs::kernels::cuda {
namespace {

// A CPU tensor's contents on the device, and back.
class DeviceCopy {
 public:
  explicit DeviceCopy(const torch::Tensor& t) : bytes_(t.numel() * t.element_size()) {
    EXPECT_EQ(Allocate(&ptr_, bytes_), nullptr);
    EXPECT_EQ(CopyToDevice(ptr_, t.contiguous().data_ptr(), bytes_), nullptr);
  }
  ~DeviceCopy() { Free(ptr_); }
  template <typename T>
  T* get() const { return static_cast<T*>(ptr_); }
  torch::Tensor ToHost(const torch::Tensor& like) const {
    torch::Tensor out = torch::empty_like(like).contiguous();
    EXPECT_EQ(CopyToHost(out.data_ptr(), ptr_, bytes_), nullptr);
    return out;
  }

 private:
  int64_t bytes_;
  void* ptr_ = nullptr;
};

template <typename T>
struct Mix {
  DeviceCopy start, from, weight;
  DeviceMix<T> view;
  static std::vector<torch::Tensor> Csr(const DepthMix& mix, torch::Dtype dtype, int64_t* reach) {
    std::vector<int32_t> starts{0}, froms;
    std::vector<double> weights;
    *reach = 0;
    for (int64_t l = 0; l < mix.depth(); ++l) {
      for (const auto& t : mix.rows[l]) {
        froms.push_back(static_cast<int32_t>(t.from));
        weights.push_back(t.weight);
        *reach = std::max<int64_t>(*reach, std::abs(t.from - l));
      }
      starts.push_back(static_cast<int32_t>(froms.size()));
    }
    return {torch::tensor(starts, torch::kInt), torch::tensor(froms, torch::kInt),
            torch::tensor(weights, torch::kDouble).to(dtype)};  // rounded to T once
  }
  Mix(const DepthMix& mix, torch::Dtype /*dtype*/, std::vector<torch::Tensor> csr, int64_t reach)
      : start(csr[0]), from(csr[1]), weight(csr[2]),
        view{start.get<int32_t>(), from.get<int32_t>(), weight.get<T>(),
             static_cast<int32_t>(mix.depth()), static_cast<int32_t>(reach)} {}
  Mix(const DepthMix& mix, torch::Dtype dtype, int64_t reach = 0)
      : Mix(mix, dtype, Csr(mix, dtype, &reach), reach) {}
};

template <typename T>
void CompareOnRandomStacks(torch::Dtype dtype) {
  const AdamWHyper adamw{0.9, 0.95, 1e-8, 1 - 0.9 * 0.9, 1 - 0.95 * 0.95};
  for (int64_t depth : {1, 4, 7}) {
    for (int64_t radius : {1, 2, 3}) {
      const std::string where = "depth " + std::to_string(depth) + " radius " + std::to_string(radius);
      torch::manual_seed(depth * 10 + radius);
      const auto options = torch::TensorOptions().dtype(dtype);
      const torch::Tensor p = torch::randn({depth, 3, 1500}, options);
      const torch::Tensor g = torch::randn({depth, 3, 1500}, options);
      const torch::Tensor m = torch::randn({depth, 3, 1500}, options) * 0.1;
      const torch::Tensor v = torch::rand({depth, 3, 1500}, options) * 0.01;
      const int64_t n = 4500;
      const DepthMix mix =
          WindowSmoothing(WindowSmoothingOptions().alpha(0.3).radius(radius)).BaseMix(depth);
      const Mix<T> device_mix(mix, dtype);

      // AdamW.
      torch::Tensor cp = p.clone(), cm = m.clone(), cv = v.clone();
      kernels::AdamWMixedStep(mix, cp, g, cm, cv, adamw, 1e-2, 0.1);
      DeviceCopy dp(p), dg(g), dm(m), dv(v);
      ASSERT_EQ(AdamWMixedStep(device_mix.view,
                               AdamWOperands<T>{dp.get<T>(), dg.get<T>(), dm.get<T>(), dv.get<T>(), nullptr},
                               MakeAdamWConstants<T>(adamw), static_cast<T>(1.0 - 1e-2 * 0.1),
                               static_cast<T>(1e-2), n),
                nullptr);
      EXPECT_TRUE(torch::equal(dp.ToHost(p), cp)) << "adamw p " << where;
      EXPECT_TRUE(torch::equal(dm.ToHost(m), cm)) << "adamw m " << where;
      EXPECT_TRUE(torch::equal(dv.ToHost(v), cv)) << "adamw v " << where;

      // SGD, every switch.
      for (bool nesterov : {false, true}) {
        for (bool first : {false, true}) {
          const SgdHyper h{0.9, 0.0, 1e-2, nesterov, first};
          torch::Tensor sp = p.clone(), sb = m.clone();
          kernels::SgdMixedStep(mix, sp, g, sb, h, 0.05);
          DeviceCopy ep(p), eg(g), eb(m);
          ASSERT_EQ(SgdMixedStep(device_mix.view,
                                 SgdOperands<T>{ep.get<T>(), eg.get<T>(), eb.get<T>(), nullptr}, h,
                                 static_cast<T>(0.05), n),
                    nullptr);
          EXPECT_TRUE(torch::equal(ep.ToHost(p), sp)) << "sgd p " << where << " " << nesterov << first;
          EXPECT_TRUE(torch::equal(eb.ToHost(m), sb)) << "sgd buf " << where;
        }
      }

      // The mixed update with a data-dependent mix (as the direction variant builds it).
      DepthMix scaled = mix;
      std::vector<double> rows(depth), columns(depth);
      for (int64_t l = 0; l < depth; ++l) {
        rows[l] = 0.5 + 0.1 * l;
        columns[l] = 1.0 / (1.0 + l);
      }
      scaled.ScaleColumns(columns);
      scaled.ScaleRows(rows);
      const Mix<T> device_scaled(scaled, dtype);
      torch::Tensor up = p.clone();
      kernels::ApplyMixedUpdate(scaled, up, g, 0.1, 0.01);
      DeviceCopy fp(p), fd(g);
      ASSERT_EQ(MixedUpdate(device_scaled.view, fp.get<T>(), fd.get<T>(),
                            static_cast<T>(1.0 - 0.1 * 0.01), static_cast<T>(0.1), n),
                nullptr);
      EXPECT_TRUE(torch::equal(fp.ToHost(p), up)) << "mixed update " << where;
    }
  }
}

TEST(CudaKernels, GiveTheCpuBitsOnRandomStacks) {
  if (const char* problem = DeviceProblem()) GTEST_SKIP() << "no usable CUDA device: " << problem;
  CompareOnRandomStacks<float>(torch::kFloat);
  CompareOnRandomStacks<double>(torch::kDouble);
}

TEST(CudaKernels, ReportCudaErrorsInsteadOfCrashing) {
  if (DeviceProblem() == nullptr) GTEST_SKIP() << "a CUDA device is usable";
  // No device: the launch fails before touching memory and says why.
  const DeviceMix<float> mix{nullptr, nullptr, nullptr, 4, 1};
  const char* error = MixedUpdate<float>(mix, nullptr, nullptr, 1.0f, 0.1f, 1000);
  ASSERT_NE(error, nullptr);
  EXPECT_FALSE(std::string(error).empty());
  // A mix reaching too far is refused whatever the device.
  const DeviceMix<float> far{nullptr, nullptr, nullptr, 40, kMaxReach + 1};
  EXPECT_NE(MixedUpdate<float>(far, nullptr, nullptr, 1.0f, 0.1f, 1000), nullptr);
}

}  // namespace
}  // namespace gs::kernels::cuda
