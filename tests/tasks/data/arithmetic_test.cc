// Arithmetic problems, tokenizer and reward checker of //tasks:rl_reasoning, against
// hand-written expectations.
#include "tasks/data/arithmetic.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gs::data {
namespace {

using ::testing::HasSubstr;

ArithmeticSpec Spec(int64_t digits, const std::string& ops, int64_t mul_digits = 1) {
  ArithmeticSpec spec;
  spec.digits = digits;
  spec.ops = ops;
  spec.mul_digits = mul_digits;
  return spec;
}

TEST(Arithmetic, PromptsAnswersAndLengths) {
  EXPECT_EQ(Prompt({'+', 7, 38}, Spec(2, "+")), "07+38=");
  EXPECT_EQ(Answer({'+', 7, 38}), "45");
  EXPECT_EQ(Prompt({'-', 47, 38}, Spec(2, "+-")), "47-38=");
  EXPECT_EQ(Answer({'-', 47, 38}), "9");
  EXPECT_EQ(Answer({'-', 38, 38}), "0");
  EXPECT_EQ(Prompt({'*', 47, 3}, Spec(2, "*")), "47*3=");
  EXPECT_EQ(Answer({'*', 47, 3}), "141");
  // Mixed with addition, the second factor is padded to the addends' width.
  EXPECT_EQ(Prompt({'*', 47, 3}, Spec(2, "+*")), "47*03=");
  EXPECT_EQ(PromptLength(Spec(2, "+*")), 6);
  EXPECT_EQ(PromptLength(Spec(2, "*")), 5);
  // 99+99 = 198 (3 digits), 99-0 = 99 (2), 99*9 = 891 (3), 99*99 = 9801 (4).
  EXPECT_EQ(MaxAnswerDigits(Spec(2, "+")), 3);
  EXPECT_EQ(MaxAnswerDigits(Spec(2, "-")), 2);
  EXPECT_EQ(MaxAnswerDigits(Spec(2, "+-*")), 3);
  EXPECT_EQ(MaxAnswerDigits(Spec(2, "*", 2)), 4);
  // 1-digit: 10*10 sums, 10*11/2 ordered differences, 10*10 products.
  EXPECT_EQ(ProblemCount(Spec(1, "+")), 100);
  EXPECT_EQ(ProblemCount(Spec(1, "-")), 55);
  EXPECT_EQ(ProblemCount(Spec(1, "+-*")), 255);
}

TEST(Arithmetic, BadSpecsAreRefused) {
  EXPECT_THAT(std::string(ValidateSpec(Spec(0, "+")).message()), HasSubstr("1..9"));
  EXPECT_THAT(std::string(ValidateSpec(Spec(2, "/")).message()), HasSubstr("'+', '-', '*'"));
  EXPECT_FALSE(ValidateSpec(Spec(2, "++")).ok());
  EXPECT_FALSE(ValidateSpec(Spec(2, "")).ok());
  EXPECT_TRUE(ValidateSpec(Spec(3, "*-+", 2)).ok());
  // 1-digit addition has 100 problems: 40 + 20 fit in half of them only if <= 50.
  absl::StatusOr<ProblemSets> sets = MakeProblemSets(Spec(1, "+"), 40, 20);
  EXPECT_EQ(sets.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sets.status().message()), HasSubstr("do not fit"));
}

TEST(Tokenizer, RoundTripsEveryCharacter) {
  const std::string all = "0123456789+-*=._";
  absl::StatusOr<std::vector<int64_t>> ids = Tokenizer::Encode(all);
  ASSERT_TRUE(ids.ok());
  std::vector<int64_t> expected(16);
  for (int64_t i = 0; i < 16; ++i) expected[i] = i;
  EXPECT_EQ(*ids, expected);
  EXPECT_EQ(Tokenizer::Decode(*ids), all);
  EXPECT_EQ((*ids)[Tokenizer::kEquals], 13);
  EXPECT_EQ(Tokenizer::Decode({Tokenizer::kEnd, Tokenizer::kPad}), "._");
  EXPECT_EQ(*Tokenizer::Encode("07+38=45."),
            (std::vector<int64_t>{0, 7, 10, 3, 8, 13, 4, 5, Tokenizer::kEnd}));
  absl::StatusOr<std::vector<int64_t>> bad = Tokenizer::Encode("7/3");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("character 1 of \"7/3\""));
  EXPECT_EQ(Tokenizer::Decode({3, 16, -1}), "3??");
}

TEST(Reward, RightWrongAndMalformed) {
  EXPECT_EQ(Reward("85.", "85"), 1.0);
  EXPECT_EQ(Reward("85.__", "85"), 1.0);
  EXPECT_EQ(Reward("85.3+", "85"), 1.0);  // after the end token nothing counts
  EXPECT_EQ(Reward("0.", "0"), 1.0);
  EXPECT_EQ(Reward("84.", "85"), 0.0);    // wrong
  EXPECT_EQ(Reward("85", "85"), 0.0);     // no end token
  EXPECT_EQ(Reward("85__", "85"), 0.0);   // padding is not an end
  EXPECT_EQ(Reward(".", "85"), 0.0);      // empty answer
  EXPECT_EQ(Reward("", "85"), 0.0);       // nothing generated
  EXPECT_EQ(Reward("085.", "85"), 0.0);   // leading zero
  EXPECT_EQ(Reward("8+5.", "85"), 0.0);   // non-digit
  EXPECT_EQ(Reward("855.", "85"), 0.0);   // overflow
  EXPECT_EQ(Reward("=.", "85"), 0.0);
}

TEST(Reward, BatchOfIdsIncludingOutOfRangeOnes) {
  // Rows: "85." + pad, "84." + pad, "8599" (no end), out-of-range ids, "." first.
  at::Tensor ids = torch::tensor({8, 5, 14, 15, 8, 4, 14, 15, 8, 5, 9, 9, 8, 5, 99, 14,
                                  14, 8, 5, 15},
                                 torch::kLong)
                       .view({5, 4});
  at::Tensor r = Rewards(ids, {"85", "85", "85", "85", "85"});
  EXPECT_TRUE(r.equal(torch::tensor({1.f, 0.f, 0.f, 0.f, 0.f})));
  at::Tensor negative = torch::tensor({-3, 14}, torch::kLong).view({1, 2});
  EXPECT_EQ(Rewards(negative, {"85"}).item<float>(), 0.f);
}

TEST(Problems, SetsAreFixedDistinctAndDisjoint) {
  const ArithmeticSpec spec = Spec(2, "+-*");
  absl::StatusOr<ProblemSets> a = MakeProblemSets(spec, 300, 200);
  absl::StatusOr<ProblemSets> b = MakeProblemSets(spec, 300, 200);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->heldout, b->heldout);
  EXPECT_EQ(a->validation, b->validation);
  ASSERT_EQ(a->heldout.size(), 300u);
  ASSERT_EQ(a->validation.size(), 200u);
  absl::flat_hash_set<uint64_t> heldout, validation;
  int ops[3] = {0, 0, 0};
  for (const Problem& p : a->heldout) {
    heldout.insert(ProblemKey(p));
    ops[p.op == '+' ? 0 : p.op == '-' ? 1 : 2]++;
    EXPECT_TRUE(p.a >= 0 && p.a < 100 && p.b >= 0) << Prompt(p, spec);
    EXPECT_LT(p.b, p.op == '*' ? 10 : 100);
    if (p.op == '-') {
      EXPECT_GE(p.a, p.b);
    }
  }
  for (const Problem& p : a->validation) validation.insert(ProblemKey(p));
  EXPECT_EQ(heldout.size(), 300u);     // distinct
  EXPECT_EQ(validation.size(), 200u);  // distinct
  for (uint64_t key : validation) EXPECT_FALSE(heldout.contains(key));
  for (int count : ops) EXPECT_GT(count, 60);  // each operation drawn (about 100 each)
  // A bigger held-out set starts with the smaller one: the draw does not depend on size.
  absl::StatusOr<ProblemSets> bigger = MakeProblemSets(spec, 400, 200);
  ASSERT_TRUE(bigger.ok());
  EXPECT_TRUE(std::equal(a->heldout.begin(), a->heldout.end(), bigger->heldout.begin()));
}

TEST(Problems, TrainingDrawsAreSeededAndAvoidTheEvaluationSets) {
  const ArithmeticSpec spec = Spec(1, "+");  // 100 problems: collisions are frequent
  absl::StatusOr<ProblemSets> sets = MakeProblemSets(spec, 30, 20);
  ASSERT_TRUE(sets.ok());
  auto draw = [&](uint64_t seed) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return DrawTrainingProblems(spec, *sets, 500, generator);
  };
  const std::vector<Problem> first = draw(7), again = draw(7), other = draw(8);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  absl::flat_hash_set<uint64_t> seen;
  for (const Problem& p : first) {
    EXPECT_FALSE(sets->reserved.contains(ProblemKey(p))) << Prompt(p, spec);
    seen.insert(ProblemKey(p));
  }
  EXPECT_EQ(seen.size(), 50u);  // 500 draws cover all 100 - 50 reserved problems
}

TEST(Problems, EncodedPromptsAndSupervisedSequences) {
  const ArithmeticSpec spec = Spec(2, "+-");
  const std::vector<Problem> problems = {{'+', 7, 38}, {'-', 47, 38}};
  at::Tensor prompts = EncodePrompts(problems, spec);
  ASSERT_EQ(prompts.sizes(), (std::vector<int64_t>{2, 6}));
  at::Tensor solved = EncodeSolved(problems, spec);
  ASSERT_EQ(solved.sizes(), (std::vector<int64_t>{2, 10}));  // 6 + 3 digits + end
  auto row = [](const at::Tensor& t, int64_t i) {
    at::Tensor r = t[i].contiguous();
    return Tokenizer::Decode(std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel()));
  };
  EXPECT_EQ(row(prompts, 0), "07+38=");
  EXPECT_EQ(row(solved, 0), "07+38=45._");
  EXPECT_EQ(row(solved, 1), "47-38=9.__");
  EXPECT_EQ(Answers(problems), (std::vector<std::string>{"45", "9"}));
}

}  // namespace
}  // namespace gs::data
