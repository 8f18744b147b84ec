// The per-element arithmetic of the fused optimizer steps and their operands, written
// once for every processor: the CPU loops (kernels_impl.inc, g++) and the CUDA kernels
// (cuda/kernels.cu, nvcc) both call these functions, so the CPU tests check the very
// expressions the GPU evaluates. Torch-free and header-only.
//
// Same bits on both sides needs the same rounding of every operation: no contraction of
// a * b + c into an FMA (g++ -ffp-contract=off, nvcc -fmad=false), no reassociation
// (neither compiler's default allows it), IEEE division and square root (g++ always;
// nvcc's defaults -prec-div=true -prec-sqrt=true), and constants rounded to T once, on
// the host (the Make* functions below).
#ifndef GS_OPTIMIZERS_ELEMENTWISE_H_
#define GS_OPTIMIZERS_ELEMENTWISE_H_

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define GS_ELEMENTWISE __host__ __device__ __forceinline__
#else
#define GS_ELEMENTWISE inline __attribute__((always_inline))
#endif

namespace gs::kernels {

// The hyper-parameters of one AdamW step, in double.
struct AdamWHyper {
  double beta1, beta2, eps;
  double bias_correction1, bias_correction2;  // 1 - beta^t
};

// The hyper-parameters of one SGD step (torch's definition), in double.
struct SgdHyper {
  double momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer starts as a copy of the gradient, as in torch
};

// ptr + i, or null for an unused (null) pointer.
template <typename T>
GS_ELEMENTWISE T* Offset(T* ptr, int64_t i) {
  return ptr == nullptr ? nullptr : ptr + i;
}

template <typename T>
GS_ELEMENTWISE T Sqrt(T x) {
#if defined(__CUDA_ARCH__)
  return sqrt(x);
#else
  return std::sqrt(x);
#endif
}

// The operands of an AdamW kernel over a range of elements, each pointing at the
// range's first element. Unused ones are null: p in the direction kernel, d in the fused
// step.
template <typename T>
struct AdamWOperands {
  T* p;        // parameters, updated by the fused step
  const T* g;  // gradient
  T* m;        // first moment (exp_avg), updated
  T* v;        // second moment (exp_avg_sq), updated
  T* d;        // the direction, written by the direction kernel
  GS_ELEMENTWISE AdamWOperands At(int64_t i) const {
    return {Offset(p, i), g + i, m + i, v + i, Offset(d, i)};
  }
};

// The operands of an SGD kernel, as AdamWOperands.
template <typename T>
struct SgdOperands {
  T* p;        // parameters: read for weight decay, updated by the fused step
  const T* g;  // gradient
  T* buf;      // momentum buffer, updated (null without momentum)
  T* d;        // the direction, written by the direction kernel
  GS_ELEMENTWISE SgdOperands At(int64_t i) const {
    return {Offset(p, i), g + i, Offset(buf, i), Offset(d, i)};
  }
};

// AdamW's constants rounded to T.
template <typename T>
struct AdamWConstants {
  T b1, b2, one_minus_b1, one_minus_b2, inv_bc1, inv_sqrt_bc2, eps;
};

template <typename T>
AdamWConstants<T> MakeAdamWConstants(const AdamWHyper& h) {
  return {static_cast<T>(h.beta1),
          static_cast<T>(h.beta2),
          static_cast<T>(1.0 - h.beta1),
          static_cast<T>(1.0 - h.beta2),
          static_cast<T>(1.0 / h.bias_correction1),
          static_cast<T>(1.0 / std::sqrt(h.bias_correction2)),
          static_cast<T>(h.eps)};
}

// m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  returns the direction
// m_hat / (sqrt(v_hat) + eps) with the bias corrections as multipliers (one division and
// one square root per element).
template <typename T>
GS_ELEMENTWISE T AdamWElement(const AdamWConstants<T>& c, T g, T& m, T& v) {
  const T mi = m * c.b1 + c.one_minus_b1 * g;
  const T vi = v * c.b2 + c.one_minus_b2 * (g * g);
  m = mi;
  v = vi;
  return (mi * c.inv_bc1) / (Sqrt(vi) * c.inv_sqrt_bc2 + c.eps);
}

// SGD's constants rounded to T; damp is 1 - dampening.
template <typename T>
struct SgdConstants {
  T wd, mu, damp;
};

template <typename T>
SgdConstants<T> MakeSgdConstants(const SgdHyper& h) {
  return {static_cast<T>(h.weight_decay), static_cast<T>(h.momentum),
          static_cast<T>(1.0 - h.dampening)};
}

// g' = g + wd p;  buf <- first ? g' : mu buf + damp g';  returns
// nesterov ? g' + mu buf : buf, or g' without momentum (buf is then not touched).
// g + wd p with wd = 0 is g: no branch on weight decay.
template <typename T, bool kMomentum, bool kNesterov, bool kFirst>
GS_ELEMENTWISE T SgdElement(const SgdConstants<T>& c, T p, T g, T* buf) {
  const T gi = g + c.wd * p;
  if constexpr (kMomentum) {
    const T bi = kFirst ? gi : *buf * c.mu + c.damp * gi;
    *buf = bi;
    return kNesterov ? gi + c.mu * bi : bi;
  } else {
    return gi;
  }
}

// p * decay - step * d: the update of every step (decay = 1 - lr * wd, step = lr).
template <typename T>
GS_ELEMENTWISE T Update(T p, T d, T decay, T step) {
  return p * decay - step * d;
}

// A depth mix's terms add in order: ((w0 x0 + w1 x1) + w2 x2) + ...; this is one of them.
template <typename T>
GS_ELEMENTWISE T MixAdd(T sum, T w, T x) {
  return sum + w * x;
}

}  // namespace gs::kernels

#endif  // GS_OPTIMIZERS_ELEMENTWISE_H_
