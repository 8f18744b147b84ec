#include "tasks/data/arithmetic.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gs::data {
namespace {

constexpr char kChars[] = "0123456789+-*=._";  // index = token id

int64_t Pow10(int64_t n) {
  int64_t p = 1;
  for (int64_t i = 0; i < n; ++i) p *= 10;
  return p;
}

int64_t DecimalDigits(int64_t x) {
  int64_t d = 1;
  while (x >= 10) {
    x /= 10;
    ++d;
  }
  return d;
}

// Uniform over [0, n): n is tiny next to 2^64, so the modulo bias is below 1e-10.
int64_t Uniform(at::Generator& generator, int64_t n) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return static_cast<int64_t>(generator.get<at::CPUGeneratorImpl>()->random64() %
                              static_cast<uint64_t>(n));
}

// Fixed generators of the evaluation sets: constants, so no run seed reaches them.
constexpr uint64_t kHeldoutSeed = 0x6865'6c64'6f75'74ULL;  // "heldout"
constexpr uint64_t kValidationSeed = 0x7661'6c69'6461'74ULL;  // "validat"

// The second operand's written width: one width for every prompt of a spec, so prompts
// of mixed operations have one length.
int64_t SecondWidth(const ArithmeticSpec& spec) {
  int64_t width = 0;
  for (char op : spec.ops) width = std::max(width, op == '*' ? spec.mul_digits : spec.digits);
  return width;
}

}  // namespace

absl::Status ValidateSpec(const ArithmeticSpec& spec) {
  if (spec.digits < 1 || spec.digits > 9 || spec.mul_digits < 1 || spec.mul_digits > 9) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arithmetic: operand widths must be 1..9 digits (got %d and %d)", spec.digits,
        spec.mul_digits));
  }
  if (spec.ops.empty()) return absl::InvalidArgumentError("arithmetic: no operations given");
  for (size_t i = 0; i < spec.ops.size(); ++i) {
    const char op = spec.ops[i];
    if ((op != '+' && op != '-' && op != '*') || spec.ops.find(op) != i) {
      return absl::InvalidArgumentError(
          absl::StrCat("arithmetic: operations must be distinct ones of '+', '-', '*' (got '",
                       spec.ops, "')"));
    }
  }
  return absl::OkStatus();
}

int64_t Problem::Result() const {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    default: return a * b;
  }
}

std::string Prompt(const Problem& problem, const ArithmeticSpec& spec) {
  const int64_t second = SecondWidth(spec);
  return absl::StrFormat("%0*d%c%0*d=", static_cast<int>(spec.digits), problem.a, problem.op,
                         static_cast<int>(second), problem.b);
}

std::string Answer(const Problem& problem) { return absl::StrCat(problem.Result()); }

int64_t PromptLength(const ArithmeticSpec& spec) { return spec.digits + SecondWidth(spec) + 2; }

int64_t MaxAnswerDigits(const ArithmeticSpec& spec) {
  const int64_t top = Pow10(spec.digits) - 1;
  int64_t most = 1;
  for (char op : spec.ops) {
    const int64_t largest = op == '+' ? 2 * top : op == '-' ? top : top * (Pow10(spec.mul_digits) - 1);
    most = std::max(most, DecimalDigits(largest));
  }
  return most;
}

int64_t ProblemCount(const ArithmeticSpec& spec) {
  const int64_t n = Pow10(spec.digits);
  int64_t count = 0;
  for (char op : spec.ops) {
    count += op == '+' ? n * n : op == '-' ? n * (n + 1) / 2 : n * Pow10(spec.mul_digits);
  }
  return count;
}

absl::StatusOr<std::vector<int64_t>> Tokenizer::Encode(std::string_view text) {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char* at = std::strchr(kChars, text[i]);
    if (text[i] == '\0' || at == nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tokenizer: character %d of \"%s\" is not one of \"%s\"", i, text, kChars));
    }
    ids.push_back(at - kChars);
  }
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int64_t>& ids) {
  std::string text;
  text.reserve(ids.size());
  for (int64_t id : ids) text.push_back(id >= 0 && id < kVocab ? kChars[id] : '?');
  return text;
}

double Reward(std::string_view completion, std::string_view answer) {
  const size_t end = completion.find(Tokenizer::kEndChar);
  if (end == std::string_view::npos || end == 0) return 0.0;
  const std::string_view given = completion.substr(0, end);
  // The answer is canonical (digits only, no leading zeros), so equality also rules out
  // non-digits, leading zeros and extra digits.
  return given == answer ? 1.0 : 0.0;
}

at::Tensor Rewards(const at::Tensor& completions, const std::vector<std::string>& answers) {
  TORCH_CHECK(completions.dim() == 2 && completions.size(0) == static_cast<int64_t>(answers.size()),
              "Rewards: completions must be [N, L] for N answers");
  const at::Tensor ids = completions.to(torch::kCPU, torch::kLong).contiguous();
  at::Tensor rewards = torch::empty({ids.size(0)}, torch::kFloat);
  const int64_t n = ids.size(0), l = ids.size(1);
  const int64_t* data = ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int64_t> row(data + i * l, data + (i + 1) * l);
    rewards[i] = Reward(Tokenizer::Decode(row), answers[i]);
  }
  return rewards;
}

uint64_t ProblemKey(const Problem& problem) {
  // a and b are below 10^9 (30 bits each).
  const uint64_t op = problem.op == '+' ? 0 : problem.op == '-' ? 1 : 2;
  return (op << 60) | (static_cast<uint64_t>(problem.a) << 30) | static_cast<uint64_t>(problem.b);
}

Problem DrawProblem(const ArithmeticSpec& spec, at::Generator& generator) {
  Problem p;
  p.op = spec.ops[Uniform(generator, static_cast<int64_t>(spec.ops.size()))];
  const int64_t n = Pow10(spec.digits);
  p.a = Uniform(generator, n);
  p.b = Uniform(generator, p.op == '*' ? Pow10(spec.mul_digits) : n);
  if (p.op == '-' && p.a < p.b) std::swap(p.a, p.b);
  return p;
}

absl::StatusOr<ProblemSets> MakeProblemSets(const ArithmeticSpec& spec, int64_t heldout,
                                            int64_t validation) {
  if (absl::Status s = ValidateSpec(spec); !s.ok()) return s;
  if (heldout < 1 || validation < 1 || 2 * (heldout + validation) > ProblemCount(spec)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arithmetic: %d held-out and %d validation problems do not fit in half of the "
        "%d problems of \"%s\" with %d-digit operands",
        heldout, validation, ProblemCount(spec), spec.ops, spec.digits));
  }
  ProblemSets sets;
  auto fill = [&](std::vector<Problem>& out, int64_t n, uint64_t seed) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    while (static_cast<int64_t>(out.size()) < n) {
      const Problem p = DrawProblem(spec, generator);
      if (sets.reserved.insert(ProblemKey(p)).second) out.push_back(p);
    }
  };
  fill(sets.heldout, heldout, kHeldoutSeed);
  fill(sets.validation, validation, kValidationSeed);
  return sets;
}

std::vector<Problem> DrawTrainingProblems(const ArithmeticSpec& spec, const ProblemSets& sets,
                                          int64_t n, at::Generator& generator) {
  std::vector<Problem> out;
  out.reserve(n);
  while (static_cast<int64_t>(out.size()) < n) {
    const Problem p = DrawProblem(spec, generator);
    if (!sets.reserved.contains(ProblemKey(p))) out.push_back(p);
  }
  return out;
}

namespace {
// Encodes text the tokenizer is known to accept.
std::vector<int64_t> MustEncode(const std::string& text) {
  absl::StatusOr<std::vector<int64_t>> ids = Tokenizer::Encode(text);
  TORCH_CHECK(ids.ok(), std::string(ids.status().message()));
  return *ids;
}
}  // namespace

at::Tensor EncodePrompts(const std::vector<Problem>& problems, const ArithmeticSpec& spec) {
  const int64_t length = PromptLength(spec);
  at::Tensor out = torch::empty({static_cast<int64_t>(problems.size()), length}, torch::kLong);
  int64_t* data = out.data_ptr<int64_t>();
  for (size_t i = 0; i < problems.size(); ++i) {
    const std::vector<int64_t> ids = MustEncode(Prompt(problems[i], spec));
    TORCH_CHECK(static_cast<int64_t>(ids.size()) == length, "prompt length mismatch");
    std::copy(ids.begin(), ids.end(), data + i * length);
  }
  return out;
}

at::Tensor EncodeSolved(const std::vector<Problem>& problems, const ArithmeticSpec& spec) {
  const int64_t length = PromptLength(spec) + MaxAnswerDigits(spec) + 1;
  at::Tensor out =
      torch::full({static_cast<int64_t>(problems.size()), length}, Tokenizer::kPad, torch::kLong);
  int64_t* data = out.data_ptr<int64_t>();
  for (size_t i = 0; i < problems.size(); ++i) {
    const std::vector<int64_t> ids =
        MustEncode(Prompt(problems[i], spec) + Answer(problems[i]) + Tokenizer::kEndChar);
    TORCH_CHECK(static_cast<int64_t>(ids.size()) <= length, "answer longer than the spec allows");
    std::copy(ids.begin(), ids.end(), data + i * length);
  }
  return out;
}

std::vector<std::string> Answers(const std::vector<Problem>& problems) {
  std::vector<std::string> out;
  out.reserve(problems.size());
  for (const Problem& p : problems) out.push_back(Answer(p));
  return out;
}

}  // namespace gs::data
