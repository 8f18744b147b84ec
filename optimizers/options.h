// Options declared once. Every base optimizer and depth transform declares its options
// here as an OptionSchema (name, type, default, allowed range or values, a one-line help,
// whether the option names the run); validation, task flags, grid keys, run tags,
// run.json and report labels all derive from that declaration. Torch-free, so the suite
// (which does not link LibTorch) reads the same declarations, as JSON.
//
//   const OptionSchema& schema = OptionSchema()
//       .Number("alpha", 0.2, Range::Closed(0, 1), "smoothing strength").Tag("a").Strength()
//       .Integer("radius", 1, Range::AtLeast(1), "neighbours on each side").Tag("r");
//   GS_ASSIGN_OR_RETURN(OptionValues v, schema.Resolve("window", {{"alpha", "0.1"}}));
//   v.Number("alpha");  // 0.1;  v.Tag() == "a0.1" (other options at their default are left out)
#ifndef GS_OPTIMIZERS_OPTIONS_H_
#define GS_OPTIMIZERS_OPTIONS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace gs {

// The allowed interval of a number or integer option; ends may be open or absent.
struct Range {
  double min = -1e300, max = 1e300;
  bool min_open = false, max_open = false;
  bool has_min = false, has_max = false;

  static Range Closed(double lo, double hi) { return {lo, hi, false, false, true, true}; }
  static Range HalfOpen(double lo, double hi) { return {lo, hi, false, true, true, true}; }  // [lo, hi)
  static Range AtLeast(double lo) { return {lo, 1e300, false, false, true, false}; }
  static Range Above(double lo) { return {lo, 1e300, true, false, true, false}; }
  bool Contains(double x) const;
  // "in [0, 1]", ">= 1", "> 0"; empty for an unbounded range.
  std::string Describe() const;
};

struct OptionDecl {
  enum class Type { kNumber, kInteger, kChoice, kBool };
  std::string name;
  Type type = Type::kNumber;
  std::string default_text;  // the default, as an option value is written
  std::string help;
  Range range;                       // kNumber, kInteger
  std::vector<std::string> choices;  // kChoice
  // In run tags: `tag` + value ("a0.2"); an empty tag writes the value alone (choices).
  std::string tag;
  bool names_run = true;  // false: the option is recorded but does not name the run
  bool strength = false;  // the transform's strength (alpha, rho): 0 is the identity

  // "a number in [0, 1]", "an integer >= 1", "one of box | triangle | gaussian".
  std::string Allowed() const;
  // Parses `text` as this option's type and range; the message names `owner`.
  absl::Status Check(absl::string_view owner, const std::string& text) const;
};

class OptionValues;

class OptionSchema {
 public:
  OptionSchema& Number(std::string name, double def, Range range, std::string help);
  OptionSchema& Integer(std::string name, int64_t def, Range range, std::string help);
  OptionSchema& Choice(std::string name, std::string def, std::vector<std::string> choices,
                       std::string help);
  OptionSchema& Bool(std::string name, bool def, std::string help);
  // Modify the option declared last.
  OptionSchema& Tag(std::string prefix);
  OptionSchema& Unnamed();
  OptionSchema& Strength();
  // Appends a declaration made by hand (another optimizer's options, renamed).
  OptionSchema& Add(OptionDecl decl);
  // Appends `other`'s options (a transform's own plus the options every transform has).
  OptionSchema& Extend(const OptionSchema& other);

  const std::vector<OptionDecl>& decls() const { return decls_; }
  const OptionDecl* Find(absl::string_view name) const;
  // The strength option (alpha, rho), or null.
  const OptionDecl* StrengthOption() const;

  // Every option's value: those in `given` (key -> text), checked; the rest at their
  // defaults. An unknown key is InvalidArgument naming `owner` and the options it has.
  absl::StatusOr<OptionValues> Resolve(absl::string_view owner,
                                       const std::map<std::string, std::string>& given) const;
  // Checks values set through typed options (a transform built in code).
  absl::Status Validate(absl::string_view owner, const OptionValues& values) const;

  // One line per option: "  alpha  number in [0, 1], default 0.2: smoothing strength".
  std::string Describe() const;
  nlohmann::json ToJson() const;
  static absl::StatusOr<OptionSchema> FromJson(const nlohmann::json& json);

 private:
  std::vector<OptionDecl> decls_;
};

// Every declared option of one schema with its value, as text in the option's syntax.
class OptionValues {
 public:
  OptionValues() = default;
  explicit OptionValues(const OptionSchema& schema);  // every option at its default

  double Number(absl::string_view name) const;
  int64_t Integer(absl::string_view name) const;
  const std::string& Choice(absl::string_view name) const;
  bool Bool(absl::string_view name) const;

  // Setters for typed options (no check: OptionSchema::Validate does that).
  OptionValues& SetNumber(absl::string_view name, double value);
  OptionValues& SetInteger(absl::string_view name, int64_t value);
  OptionValues& SetChoice(absl::string_view name, std::string value);
  OptionValues& SetBool(absl::string_view name, bool value);

  const std::string& Text(absl::string_view name) const;
  const OptionSchema& schema() const { return *schema_; }
  // The strength (always) and the other options that name the run and differ from
  // their default, "-"-joined in declaration order ("a0.1-triangle"); options in
  // `leave_out` are left out (a tuned arm's name, whose strength is swept).
  std::string Tag(const std::set<std::string>& leave_out = {}) const;
  // The same options as "alpha=0.1 kernel=triangle", for labels.
  std::string Label() const;
  // name -> typed value, every option.
  nlohmann::json ToJson() const;

 private:
  const OptionDecl& Decl(absl::string_view name) const;
  std::shared_ptr<const OptionSchema> schema_ = std::make_shared<OptionSchema>();
  std::map<std::string, std::string> text_;
};

// Parses "key=value,key=value" (the --*_options flags); `flag` names it in messages.
absl::StatusOr<std::map<std::string, std::string>> ParseOptionList(absl::string_view flag,
                                                                   absl::string_view text);

// A number as options and tags write it: the shortest text that reads back exactly.
std::string NumberText(double value);

}  // namespace gs

#endif  // GS_OPTIMIZERS_OPTIONS_H_
