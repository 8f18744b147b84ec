#include "optimizers/options.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "optimizers/status_macros.h"

namespace gs {
namespace {

using Type = OptionDecl::Type;

const char* TypeName(Type type) {
  switch (type) {
    case Type::kNumber: return "number";
    case Type::kInteger: return "integer";
    case Type::kChoice: return "choice";
    case Type::kBool: return "bool";
  }
  return "number";
}

bool ParseNumber(const std::string& text, double* value) {
  return absl::SimpleAtod(text, value) && std::isfinite(*value);
}

}  // namespace

std::string NumberText(double value) {
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

bool Range::Contains(double x) const {
  if (has_min && (x < min || (min_open && x == min))) return false;
  if (has_max && (x > max || (max_open && x == max))) return false;
  return true;
}

std::string Range::Describe() const {
  if (has_min && has_max) {
    return absl::StrCat("in ", min_open ? "(" : "[", NumberText(min), ", ", NumberText(max),
                        max_open ? ")" : "]");
  }
  if (has_min) return absl::StrCat(min_open ? "> " : ">= ", NumberText(min));
  if (has_max) return absl::StrCat(max_open ? "< " : "<= ", NumberText(max));
  return "";
}

std::string OptionDecl::Allowed() const {
  switch (type) {
    case Type::kNumber:
    case Type::kInteger: {
      const std::string range_text = range.Describe();
      return absl::StrCat(type == Type::kNumber ? "a number" : "an integer",
                          range_text.empty() ? "" : " ", range_text);
    }
    case Type::kChoice: return absl::StrCat("one of ", absl::StrJoin(choices, " | "));
    case Type::kBool: return "true or false";
  }
  return "";
}

absl::Status OptionDecl::Check(absl::string_view owner, const std::string& text) const {
  bool ok = false;
  switch (type) {
    case Type::kNumber: {
      double x;
      ok = ParseNumber(text, &x) && range.Contains(x);
      break;
    }
    case Type::kInteger: {
      int64_t n;
      ok = absl::SimpleAtoi(text, &n) && range.Contains(static_cast<double>(n));
      break;
    }
    case Type::kChoice:
      ok = std::find(choices.begin(), choices.end(), text) != choices.end();
      break;
    case Type::kBool:
      ok = text == "true" || text == "false";
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(owner, " option ", name, "=", text,
                                                 " is not allowed; use ", Allowed()));
}

OptionSchema& OptionSchema::Number(std::string name, double def, Range range, std::string help) {
  OptionDecl d;
  d.name = std::move(name);
  d.type = Type::kNumber;
  d.default_text = NumberText(def);
  d.range = range;
  d.help = std::move(help);
  d.tag = d.name;
  decls_.push_back(std::move(d));
  return *this;
}

OptionSchema& OptionSchema::Integer(std::string name, int64_t def, Range range,
                                    std::string help) {
  OptionDecl d;
  d.name = std::move(name);
  d.type = Type::kInteger;
  d.default_text = absl::StrCat(def);
  d.range = range;
  d.help = std::move(help);
  d.tag = d.name;
  decls_.push_back(std::move(d));
  return *this;
}

OptionSchema& OptionSchema::Choice(std::string name, std::string def,
                                   std::vector<std::string> choices, std::string help) {
  OptionDecl d;
  d.name = std::move(name);
  d.type = Type::kChoice;
  d.default_text = std::move(def);
  d.choices = std::move(choices);
  d.help = std::move(help);
  decls_.push_back(std::move(d));
  return *this;
}

OptionSchema& OptionSchema::Bool(std::string name, bool def, std::string help) {
  OptionDecl d;
  d.name = std::move(name);
  d.type = Type::kBool;
  d.default_text = def ? "true" : "false";
  d.help = std::move(help);
  d.tag = d.name + "_";
  decls_.push_back(std::move(d));
  return *this;
}

OptionSchema& OptionSchema::Tag(std::string prefix) {
  decls_.back().tag = std::move(prefix);
  return *this;
}

OptionSchema& OptionSchema::Unnamed() {
  decls_.back().names_run = false;
  return *this;
}

OptionSchema& OptionSchema::Strength() {
  decls_.back().strength = true;
  return *this;
}

OptionSchema& OptionSchema::Add(OptionDecl decl) {
  decls_.push_back(std::move(decl));
  return *this;
}

OptionSchema& OptionSchema::Extend(const OptionSchema& other) {
  decls_.insert(decls_.end(), other.decls_.begin(), other.decls_.end());
  return *this;
}

const OptionDecl* OptionSchema::Find(absl::string_view name) const {
  for (const OptionDecl& d : decls_) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const OptionDecl* OptionSchema::StrengthOption() const {
  for (const OptionDecl& d : decls_) {
    if (d.strength) return &d;
  }
  return nullptr;
}

absl::StatusOr<OptionValues> OptionSchema::Resolve(
    absl::string_view owner, const std::map<std::string, std::string>& given) const {
  OptionValues values(*this);
  for (const auto& [key, text] : given) {
    const OptionDecl* d = Find(key);
    if (d == nullptr) {
      std::vector<std::string> names;
      for (const OptionDecl& decl : decls_) names.push_back(decl.name);
      return absl::InvalidArgumentError(absl::StrCat(
          owner, " has no option '", key, "'; its options: ",
          names.empty() ? std::string("none") : absl::StrJoin(names, ", ")));
    }
    GS_RETURN_IF_ERROR(d->Check(owner, text));
    if (d->type == Type::kNumber) {
      values.SetNumber(key, std::strtod(text.c_str(), nullptr));
    } else if (d->type == Type::kInteger) {
      values.SetInteger(key, std::strtoll(text.c_str(), nullptr, 10));
    } else {
      values.SetChoice(key, text);
    }
  }
  return values;
}

absl::Status OptionSchema::Validate(absl::string_view owner, const OptionValues& values) const {
  for (const OptionDecl& d : decls_) GS_RETURN_IF_ERROR(d.Check(owner, values.Text(d.name)));
  return absl::OkStatus();
}

std::string OptionSchema::Describe() const {
  if (decls_.empty()) return "    (no options)\n";
  size_t width = 0;
  for (const OptionDecl& d : decls_) width = std::max(width, d.name.size());
  std::string out;
  for (const OptionDecl& d : decls_) {
    absl::StrAppend(&out, "    ", d.name, std::string(width + 2 - d.name.size(), ' '),
                    d.Allowed(), ", default ", d.default_text, ": ", d.help,
                    d.names_run ? "" : " (does not name the run)", "\n");
  }
  return out;
}

nlohmann::json OptionSchema::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const OptionDecl& d : decls_) {
    nlohmann::json j = {{"name", d.name},         {"type", TypeName(d.type)},
                        {"default", d.default_text}, {"help", d.help},
                        {"tag", d.tag},           {"names_run", d.names_run},
                        {"strength", d.strength}};
    if (d.type == Type::kChoice) j["choices"] = d.choices;
    if (d.type == Type::kNumber || d.type == Type::kInteger) {
      if (d.range.has_min) j["min"] = {d.range.min, d.range.min_open};
      if (d.range.has_max) j["max"] = {d.range.max, d.range.max_open};
    }
    list.push_back(std::move(j));
  }
  return list;
}

absl::StatusOr<OptionSchema> OptionSchema::FromJson(const nlohmann::json& json) {
  OptionSchema schema;
  try {
    for (const nlohmann::json& j : json) {
      OptionDecl d;
      d.name = j.at("name").get<std::string>();
      const std::string type = j.at("type").get<std::string>();
      d.type = type == "number"    ? Type::kNumber
               : type == "integer" ? Type::kInteger
               : type == "choice"  ? Type::kChoice
                                   : Type::kBool;
      d.default_text = j.at("default").get<std::string>();
      d.help = j.at("help").get<std::string>();
      d.tag = j.at("tag").get<std::string>();
      d.names_run = j.at("names_run").get<bool>();
      d.strength = j.at("strength").get<bool>();
      if (j.contains("choices")) d.choices = j["choices"].get<std::vector<std::string>>();
      if (j.contains("min")) {
        d.range.has_min = true;
        d.range.min = j["min"][0].get<double>();
        d.range.min_open = j["min"][1].get<bool>();
      }
      if (j.contains("max")) {
        d.range.has_max = true;
        d.range.max = j["max"][0].get<double>();
        d.range.max_open = j["max"][1].get<bool>();
      }
      schema.decls_.push_back(std::move(d));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("malformed option declarations: ", e.what()));
  }
  return schema;
}

OptionValues::OptionValues(const OptionSchema& schema)
    : schema_(std::make_shared<OptionSchema>(schema)) {
  for (const OptionDecl& d : schema.decls()) text_[d.name] = d.default_text;
}

const OptionDecl& OptionValues::Decl(absl::string_view name) const {
  const OptionDecl* d = schema_->Find(name);
  if (d == nullptr) {
    // Asking for an undeclared option is a programming error in the component itself.
    std::fprintf(stderr, "option '%s' is not declared\n", std::string(name).c_str());
    std::abort();
  }
  return *d;
}

const std::string& OptionValues::Text(absl::string_view name) const {
  Decl(name);
  return text_.find(std::string(name))->second;
}

double OptionValues::Number(absl::string_view name) const {
  return std::strtod(Text(name).c_str(), nullptr);
}

int64_t OptionValues::Integer(absl::string_view name) const {
  return std::strtoll(Text(name).c_str(), nullptr, 10);
}

const std::string& OptionValues::Choice(absl::string_view name) const { return Text(name); }

bool OptionValues::Bool(absl::string_view name) const { return Text(name) == "true"; }

OptionValues& OptionValues::SetNumber(absl::string_view name, double value) {
  Decl(name);
  text_[std::string(name)] = NumberText(value);
  return *this;
}

OptionValues& OptionValues::SetInteger(absl::string_view name, int64_t value) {
  Decl(name);
  text_[std::string(name)] = absl::StrCat(value);
  return *this;
}

OptionValues& OptionValues::SetChoice(absl::string_view name, std::string value) {
  Decl(name);
  text_[std::string(name)] = std::move(value);
  return *this;
}

OptionValues& OptionValues::SetBool(absl::string_view name, bool value) {
  return SetChoice(name, value ? "true" : "false");
}

namespace {

// Whether `text` is the declared default (numbers compare by value: 0.20 is 0.2).
bool IsDefault(const OptionDecl& d, const std::string& text) {
  if (d.type == OptionDecl::Type::kNumber) {
    return std::strtod(text.c_str(), nullptr) == std::strtod(d.default_text.c_str(), nullptr);
  }
  return text == d.default_text;
}

}  // namespace

std::string OptionValues::Tag(const std::set<std::string>& leave_out) const {
  std::vector<std::string> parts;
  for (const OptionDecl& d : schema_->decls()) {
    const std::string& text = text_.at(d.name);
    if (!d.names_run || (!d.strength && IsDefault(d, text)) || leave_out.count(d.name)) continue;
    parts.push_back(d.tag + text);
  }
  return absl::StrJoin(parts, "-");
}

std::string OptionValues::Label() const {
  std::vector<std::string> parts;
  for (const OptionDecl& d : schema_->decls()) {
    const std::string& text = text_.at(d.name);
    if (!d.names_run || (!d.strength && IsDefault(d, text))) continue;
    parts.push_back(absl::StrCat(d.name, "=", text));
  }
  return absl::StrJoin(parts, " ");
}

nlohmann::json OptionValues::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (const OptionDecl& d : schema_->decls()) {
    const std::string& text = text_.at(d.name);
    switch (d.type) {
      case Type::kNumber: j[d.name] = std::strtod(text.c_str(), nullptr); break;
      case Type::kInteger: j[d.name] = std::strtoll(text.c_str(), nullptr, 10); break;
      case Type::kChoice: j[d.name] = text; break;
      case Type::kBool: j[d.name] = text == "true"; break;
    }
  }
  return j;
}

absl::StatusOr<std::map<std::string, std::string>> ParseOptionList(absl::string_view flag,
                                                                   absl::string_view text) {
  std::map<std::string, std::string> options;
  if (text.empty()) return options;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.first.empty() || item.find('=') == absl::string_view::npos || kv.second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", text, ": '", item,
                                                     "' is not key=value; use key=value,key=value"));
    }
    if (!options.emplace(kv.first, kv.second).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, "=", text, ": option '", kv.first, "' is given twice"));
    }
  }
  return options;
}

}  // namespace gs
