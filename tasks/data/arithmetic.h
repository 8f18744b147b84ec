// Verifiable arithmetic for //tasks:rl_reasoning: problems such as "47+38=" with exact
// answers ("85"), a character tokenizer, and the 0/1 reward checker. Operands are written
// zero-padded to the preset's width, so every prompt of a preset has the same length and
// batches need no padding on the prompt side; answers are plain decimals (no leading
// zeros) followed by an end token.
#ifndef GS_TASKS_DATA_ARITHMETIC_H_
#define GS_TASKS_DATA_ARITHMETIC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace gs::data {

// Which problems a preset poses.
struct ArithmeticSpec {
  int64_t digits = 2;      // operand width (addition, subtraction, the first factor)
  int64_t mul_digits = 1;  // width of the second factor of a multiplication
  std::string ops = "+";   // any of '+', '-', '*', each drawn equally often
};

// InvalidArgument unless 1 <= digits, mul_digits <= 9 and ops is a non-empty set of + - *.
absl::Status ValidateSpec(const ArithmeticSpec& spec);

struct Problem {
  char op = '+';
  int64_t a = 0, b = 0;  // subtraction has a >= b, so answers are never negative

  int64_t Result() const;
  bool operator==(const Problem& o) const { return op == o.op && a == o.a && b == o.b; }
};

// "07+38=": operands zero-padded, the first to `digits`, the second to the widest second
// operand of the spec's operations (mul_digits for a product), so a spec's prompts all
// have one length.
std::string Prompt(const Problem& problem, const ArithmeticSpec& spec);
// "45": the exact result in decimal, no leading zeros.
std::string Answer(const Problem& problem);
// Tokens of every prompt of the spec.
int64_t PromptLength(const ArithmeticSpec& spec);
// Digits of the longest possible answer (the end token not counted).
int64_t MaxAnswerDigits(const ArithmeticSpec& spec);
// How many distinct problems the spec has.
int64_t ProblemCount(const ArithmeticSpec& spec);

// Characters: digits, '+', '-', '*', '=', then the end-of-answer token (written '.') and
// padding (written '_').
class Tokenizer {
 public:
  static constexpr int64_t kVocab = 16;
  static constexpr int64_t kEquals = 13;
  static constexpr int64_t kEnd = 14;
  static constexpr int64_t kPad = 15;
  static constexpr char kEndChar = '.';
  static constexpr char kPadChar = '_';

  // InvalidArgument naming the first character outside the vocabulary.
  static absl::StatusOr<std::vector<int64_t>> Encode(std::string_view text);
  // Ids outside the vocabulary decode as '?'.
  static std::string Decode(const std::vector<int64_t>& ids);
};

// The reward checker: 1 when `completion` (generated tokens, written with the tokenizer's
// characters) is exactly `answer` followed by the end token; whatever follows the end
// token (padding) is ignored. Anything else is 0: no end token, an empty answer, a
// non-digit, a leading zero, too many digits, or a wrong number.
double Reward(std::string_view completion, std::string_view answer);
// The same for a batch of generated ids [N, L] (int64) against N answers: float [N].
at::Tensor Rewards(const at::Tensor& completions, const std::vector<std::string>& answers);

// A problem's identity, for set membership.
uint64_t ProblemKey(const Problem& problem);

// One problem drawn uniformly: the operation uniformly from spec.ops, operands uniformly
// over their widths (a subtraction's operands ordered so a >= b).
Problem DrawProblem(const ArithmeticSpec& spec, at::Generator& generator);

// The fixed evaluation sets of a spec: held-out test problems and stage-1 validation
// problems, each distinct and disjoint from the other, drawn from fixed generators so
// they depend on the spec and the sizes only, never on a run's seed.
struct ProblemSets {
  std::vector<Problem> heldout, validation;
  absl::flat_hash_set<uint64_t> reserved;  // keys of both: training never draws them
};
// InvalidArgument when the two sets would take more than half of the spec's problems.
absl::StatusOr<ProblemSets> MakeProblemSets(const ArithmeticSpec& spec, int64_t heldout,
                                            int64_t validation);

// `n` training problems from `generator`, none of them in sets.reserved.
std::vector<Problem> DrawTrainingProblems(const ArithmeticSpec& spec, const ProblemSets& sets,
                                          int64_t n, at::Generator& generator);

// Prompts as ids [N, PromptLength] (int64).
at::Tensor EncodePrompts(const std::vector<Problem>& problems, const ArithmeticSpec& spec);
// Prompt, answer, end token, then padding to PromptLength + MaxAnswerDigits + 1 ids: the
// supervised sequences [N, PromptLength + MaxAnswerDigits + 1] (int64).
at::Tensor EncodeSolved(const std::vector<Problem>& problems, const ArithmeticSpec& spec);
std::vector<std::string> Answers(const std::vector<Problem>& problems);

}  // namespace gs::data

#endif  // GS_TASKS_DATA_ARITHMETIC_H_
