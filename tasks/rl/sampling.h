// Autoregressive completion of token prompts under any next-token model: sampled at a
// temperature from a caller's generator only (so a resumed run samples the same), or
// greedy. The model is a function, so the sampler is tested without one.
#ifndef GS_TASKS_RL_SAMPLING_H_
#define GS_TASKS_RL_SAMPLING_H_

#include <cstdint>
#include <functional>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace gs::rl {

// tokens [N, T] (int64) -> logits [N, T, V]; only the last position is used.
using LogitsFn = std::function<at::Tensor(const at::Tensor& tokens)>;

struct Completions {
  at::Tensor tokens;   // [N, max_new] int64; padding after a row's end token
  at::Tensor mask;     // [N, max_new] float: 1 on generated tokens up to and including end
  bool finite = true;  // false if the model gave a non-finite logit (generation stopped)
};

// One token per row of logits [N, V] from softmax(logits / temperature), by inverse CDF:
// the smallest i with cdf_i > u * cdf_V, u ~ U[0, 1) drawn as one [N] tensor from
// `generator` (in double precision).
at::Tensor SampleTokens(const at::Tensor& logits, double temperature, at::Generator& generator);

// Completes prompts [N, T0] with up to max_new tokens each, recomputing the forward over
// the whole sequence per token (answers are a few tokens). temperature 0 is greedy
// (argmax, first index on ties) and draws nothing; otherwise `generator` must be given.
// Stops early once every row has produced end_token.
Completions Generate(const LogitsFn& logits_fn, const at::Tensor& prompts, int64_t max_new,
                     int64_t end_token, int64_t pad_token, double temperature,
                     at::Generator* generator);

}  // namespace gs::rl

#endif  // GS_TASKS_RL_SAMPLING_H_
