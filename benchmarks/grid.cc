#include "benchmarks/grid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "optimizers/status_macros.h"

namespace gs::benchmarks {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kPresets = {"smoke", "quick", "paper"};
// Grid keys that spell a transform's option, as the task flags of the same names do.
const std::map<std::string, std::string> kSpelledOptions = {
    {"smoothing_alpha", "alpha"},     {"window_radius", "radius"},
    {"smoothing_kernel", "kernel"},   {"smoothing_variant", "variant"},
    {"smoothing_scope", "scope"},     {"smoothing_target", "target"}};
// Overrides in the order they appear in flags and directory names.
const std::vector<std::string> kFlagKeys = {"lr", "steps", "eval_every", "checkpoint_every",
                                            "threads"};

// A value with the key path that leads to it, for messages.
struct At {
  const json* value;
  std::string where;
};

std::string Shown(const json& v) {
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

class Parser {
 public:
  Parser(std::string path, const GridNames& names) : path_(std::move(path)), names_(names) {}

  absl::StatusOr<Grid> Parse(const std::string& text);

 private:
  absl::Status Error(const std::string& where, const std::string& what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": ", where.empty() ? "" : where + ": ", what));
  }

  absl::Status CheckKeys(const At& object, const std::vector<std::string>& allowed) const {
    if (!object.value->is_object()) {
      return Error(object.where, absl::StrCat("expected an object {...}, got ",
                                              Shown(*object.value)));
    }
    for (const auto& [key, value] : object.value->items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return Error(Join(object.where, key),
                     absl::StrCat("unknown key; allowed: ", absl::StrJoin(allowed, ", ")));
      }
    }
    return absl::OkStatus();
  }

  static std::string Join(const std::string& where, const std::string& key) {
    return where.empty() ? key : absl::StrCat(where, ".", key);
  }

  // The values of `key`: a non-empty list, or one value standing for a list of one.
  absl::StatusOr<std::vector<At>> List(const At& object, const std::string& key) const {
    const std::string where = Join(object.where, key);
    auto it = object.value->find(key);
    if (it == object.value->end()) return Error(object.where, "missing key '" + key + "'");
    std::vector<At> items;
    if (!it->is_array()) {
      items.push_back({&*it, where});
      return items;
    }
    if (it->empty()) return Error(where, "an empty list; give at least one value");
    for (size_t i = 0; i < it->size(); ++i) {
      items.push_back({&(*it)[i], absl::StrCat(where, "[", i, "]")});
    }
    return items;
  }

  absl::StatusOr<std::string> OneOf(const At& v, const std::vector<std::string>& allowed,
                                    const std::string& what) const {
    const std::string choices = absl::StrJoin(allowed, " | ");
    if (!v.value->is_string()) {
      return Error(v.where, absl::StrCat("expected a string (", what, ": ", choices, "), got ",
                                         Shown(*v.value)));
    }
    const std::string s = v.value->get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      return Error(v.where, absl::StrCat("unknown ", what, " '", s, "'; allowed: ", choices));
    }
    return s;
  }

  absl::StatusOr<int64_t> Int(const At& v, int64_t min, int64_t max) const {
    const std::string allowed = max == std::numeric_limits<int64_t>::max()
                                    ? absl::StrCat("an integer >= ", min)
                                    : absl::StrCat("an integer in [", min, ", ", max, "]");
    if (!v.value->is_number_integer()) {
      return Error(v.where, absl::StrCat("expected ", allowed, ", got ", Shown(*v.value)));
    }
    const bool too_big = v.value->is_number_unsigned() &&
                         v.value->get<uint64_t>() > static_cast<uint64_t>(max);
    if (too_big || v.value->get<int64_t>() < min || v.value->get<int64_t>() > max) {
      return Error(v.where, absl::StrCat("expected ", allowed, ", got ", Shown(*v.value)));
    }
    return v.value->get<int64_t>();
  }

  absl::StatusOr<double> Number(const At& v, double min, double max, bool open_min) const {
    const std::string allowed = max == std::numeric_limits<double>::infinity()
                                    ? absl::StrCat("a number ", open_min ? "> " : ">= ", min)
                                    : absl::StrCat("a number in ", open_min ? "(" : "[", min,
                                                   ", ", max, "]");
    if (!v.value->is_number()) {
      return Error(v.where, absl::StrCat("expected ", allowed, ", got ", Shown(*v.value)));
    }
    const double x = v.value->get<double>();
    if (!std::isfinite(x) || x < min || (open_min && x == min) || x > max) {
      return Error(v.where, absl::StrCat("expected ", allowed, ", got ", Shown(*v.value)));
    }
    return x;
  }

  absl::StatusOr<Smoothing> ParseSmoothing(const At& entry) const;
  // Each combination of the flag overrides: (flag, value as written, value in a tag).
  using Override = std::vector<std::pair<std::string, std::string>>;
  absl::StatusOr<std::vector<std::pair<Override, std::string>>> ParseFlags(
      const At& experiment) const;

  std::string path_;
  const GridNames& names_;
};

absl::StatusOr<Smoothing> Parser::ParseSmoothing(const At& entry) const {
  if (!entry.value->is_object()) {
    return Error(entry.where, absl::StrCat("expected an object {\"smoothing\": ...}, got ",
                                           Shown(*entry.value)));
  }
  const json& object = *entry.value;
  std::vector<std::string> transforms = {"none"};
  for (const auto& [name, schema] : names_.transforms) transforms.push_back(name);
  if (!object.contains("smoothing")) {
    return Error(entry.where, absl::StrCat("missing key 'smoothing' (",
                                           absl::StrJoin(transforms, " | "), ")"));
  }
  Smoothing s;
  GS_ASSIGN_OR_RETURN(s.name, OneOf({&object.at("smoothing"), Join(entry.where, "smoothing")},
                                    transforms, "smoothing"));
  if (s.name == "none") {
    if (object.size() > 1) {
      return Error(entry.where, "smoothing 'none' takes no other smoothing keys");
    }
    return s;
  }
  const OptionSchema& schema = names_.transforms.at(s.name);
  for (const auto& [key, value] : object.items()) {
    if (key == "smoothing") continue;
    const std::string where = Join(entry.where, key);
    auto spelled = kSpelledOptions.find(key);
    const std::string option = spelled != kSpelledOptions.end() ? spelled->second : key;
    if (schema.Find(option) == nullptr) {
      std::vector<std::string> allowed;
      for (const OptionDecl& d : schema.decls()) allowed.push_back(d.name);
      return Error(where, absl::StrCat("smoothing '", s.name, "' has no option '", option,
                                       "'; its options: ", absl::StrJoin(allowed, ", ")));
    }
    if (!value.is_number() && !value.is_string() && !value.is_boolean()) {
      return Error(where, absl::StrCat("expected a number, string or true/false, got ", Shown(value)));
    }
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (absl::Status ok = schema.Find(option)->Check(s.name, text); !ok.ok()) {
      return Error(where, std::string(ok.message()));
    }
    if (!s.given.emplace(option, text).second) {
      return Error(where, absl::StrCat("option '", option, "' is given twice"));
    }
  }
  absl::StatusOr<OptionValues> values = schema.Resolve(s.name, s.given);
  if (!values.ok()) return Error(entry.where, std::string(values.status().message()));
  s.values = *std::move(values);
  return s;
}

absl::StatusOr<std::vector<std::pair<Parser::Override, std::string>>> Parser::ParseFlags(
    const At& experiment) const {
  std::vector<std::pair<Override, std::string>> combos = {{{}, ""}};
  auto it = experiment.value->find("flags");
  if (it == experiment.value->end()) return combos;
  const At flags{&*it, Join(experiment.where, "flags")};
  GS_RETURN_IF_ERROR(CheckKeys(flags, kFlagKeys));
  for (const std::string& key : kFlagKeys) {
    if (!flags.value->contains(key)) continue;
    GS_ASSIGN_OR_RETURN(std::vector<At> values, List(flags, key));
    std::vector<std::pair<std::string, std::string>> options;  // (as written, in a tag)
    for (const At& v : values) {
      if (key == "lr") {
        GS_ASSIGN_OR_RETURN(double lr,
                            Number(v, 0.0, std::numeric_limits<double>::infinity(), true));
        options.push_back({v.value->dump(), absl::StrCat(lr)});
      } else {
        const int64_t max =
            key == "threads" ? 1024 : std::numeric_limits<int64_t>::max();
        GS_ASSIGN_OR_RETURN(int64_t n, Int(v, 1, max));
        options.push_back({v.value->dump(), absl::StrCat(n)});
      }
    }
    std::vector<std::pair<Override, std::string>> next;
    for (const auto& [combo, tag] : combos) {
      for (const auto& [text, tag_value] : options) {
        Override o = combo;
        o.push_back({key, text});
        next.push_back({o, absl::StrCat(tag, tag.empty() ? "" : "-", key, tag_value)});
      }
    }
    combos = std::move(next);
  }
  return combos;
}

absl::StatusOr<Grid> Parser::Parse(const std::string& text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    return Error("", absl::StrCat("not valid JSON (", e.what(), ")"));
  }
  const At top{&root, ""};
  GS_RETURN_IF_ERROR(CheckKeys(top, {"description", "experiments"}));
  Grid grid;
  grid.path = path_;
  if (root.contains("description")) {
    if (!root["description"].is_string()) {
      return Error("description", "expected a string, got " + Shown(root["description"]));
    }
    grid.description = root["description"].get<std::string>();
  }
  if (!root.contains("experiments") || !root["experiments"].is_array() ||
      root["experiments"].empty()) {
    return Error("experiments", "expected a non-empty list of experiments [{...}, ...]");
  }
  std::map<std::string, size_t> by_dir;  // run directory -> index in grid.runs
  std::vector<std::string> where_of;     // the experiment each run came from
  for (size_t e = 0; e < root["experiments"].size(); ++e) {
    const At experiment{&root["experiments"][e], absl::StrCat("experiments[", e, "]")};
    GS_RETURN_IF_ERROR(CheckKeys(
        experiment, {"tasks", "preset", "optimizers", "smoothing", "seeds", "flags"}));
    std::vector<std::string> tasks, presets, optimizers;
    std::vector<Smoothing> smoothings;
    std::vector<int64_t> seeds;
    GS_ASSIGN_OR_RETURN(std::vector<At> items, List(experiment, "tasks"));
    for (const At& v : items) {
      GS_ASSIGN_OR_RETURN(std::string task, OneOf(v, names_.tasks, "task"));
      tasks.push_back(task);
    }
    GS_ASSIGN_OR_RETURN(items, List(experiment, "preset"));
    for (const At& v : items) {
      GS_ASSIGN_OR_RETURN(std::string preset, OneOf(v, kPresets, "preset"));
      presets.push_back(preset);
    }
    GS_ASSIGN_OR_RETURN(items, List(experiment, "optimizers"));
    for (const At& v : items) {
      GS_ASSIGN_OR_RETURN(std::string optimizer, OneOf(v, names_.optimizers, "optimizer"));
      optimizers.push_back(optimizer);
    }
    GS_ASSIGN_OR_RETURN(items, List(experiment, "smoothing"));
    for (const At& v : items) {
      GS_ASSIGN_OR_RETURN(Smoothing s, ParseSmoothing(v));
      smoothings.push_back(s);
    }
    GS_ASSIGN_OR_RETURN(items, List(experiment, "seeds"));
    for (const At& v : items) {
      GS_ASSIGN_OR_RETURN(int64_t seed, Int(v, 0, std::numeric_limits<int64_t>::max()));
      seeds.push_back(seed);
    }
    GS_ASSIGN_OR_RETURN(auto combos, ParseFlags(experiment));

    for (int64_t seed : seeds) {
      for (const std::string& task : tasks) {
        for (const std::string& preset : presets) {
          for (const std::string& optimizer : optimizers) {
            for (const Smoothing& smoothing : smoothings) {
              for (const auto& [overrides, tag] : combos) {
                RunSpec run{task, preset, optimizer, smoothing, seed, overrides, ""};
                run.dir = absl::StrCat(task, "/", preset, "/", optimizer, "-", smoothing.Tag(),
                                       tag.empty() ? "" : "-", tag, "/seed", seed);
                auto [it, added] = by_dir.emplace(run.dir, grid.runs.size());
                if (added) {
                  grid.runs.push_back(std::move(run));
                  where_of.push_back(experiment.where);
                } else if (grid.runs[it->second].TaskArgs() != run.TaskArgs()) {
                  return Error(experiment.where,
                               absl::StrCat("two different runs (flags ",
                                            absl::StrJoin(run.TaskArgs(), " "), " here and ",
                                            absl::StrJoin(grid.runs[it->second].TaskArgs(), " "),
                                            " in ", where_of[it->second],
                                            ") would share the run directory ", run.dir,
                                            "; make their values differ in the first 6 digits"));
                }
              }
            }
          }
        }
      }
    }
  }
  return grid;
}

}  // namespace

std::string Smoothing::Tag() const {
  if (name == "none") return "none";
  const std::string tag = values.Tag();
  return tag.empty() ? name : absl::StrCat(name, "-", tag);
}

absl::Status ReadCatalog(const std::string& json_text, GridNames* names) {
  const json catalog = json::parse(json_text, nullptr, false);
  if (catalog.is_discarded() || !catalog.is_object() || !catalog.contains("optimizers") ||
      !catalog.contains("transforms") || !catalog.contains("smoothing_common")) {
    return absl::DataLossError("the optimizer catalogue is not the JSON --list_optimizers writes");
  }
  GS_ASSIGN_OR_RETURN(OptionSchema common, OptionSchema::FromJson(catalog["smoothing_common"]));
  names->optimizers.clear();
  for (const auto& [name, decls] : catalog["optimizers"].items()) names->optimizers.push_back(name);
  // The paper's three first, then the rest alphabetically.
  std::stable_sort(names->optimizers.begin(), names->optimizers.end(),
                   [](const std::string& a, const std::string& b) {
                     auto rank = [](const std::string& n) {
                       return n == "sgd" ? 0 : n == "adamw" ? 1 : n == "muon" ? 2 : 3;
                     };
                     return rank(a) < rank(b);
                   });
  names->transforms.clear();
  for (const auto& [name, decls] : catalog["transforms"].items()) {
    GS_ASSIGN_OR_RETURN(OptionSchema schema, OptionSchema::FromJson(decls));
    schema.Extend(common);
    names->transforms.emplace(name, std::move(schema));
  }
  return absl::OkStatus();
}

std::vector<std::string> RunSpec::TaskArgs() const {
  std::vector<std::string> args = {"--preset=" + preset, "--optimizer=" + optimizer,
                                   "--smoothing=" + smoothing.name};
  if (!smoothing.given.empty()) {
    std::vector<std::string> options;
    for (const auto& [key, text] : smoothing.given) options.push_back(absl::StrCat(key, "=", text));
    args.push_back("--smoothing_options=" + absl::StrJoin(options, ","));
  }
  args.push_back(absl::StrCat("--seed=", seed));
  for (const auto& [flag, value] : overrides) args.push_back(absl::StrCat("--", flag, "=", value));
  return args;
}

absl::StatusOr<Grid> ParseGrid(const std::string& text, const std::string& path,
                               const GridNames& names) {
  return Parser(path, names).Parse(text);
}

absl::StatusOr<Grid> LoadGrid(const std::string& path, const GridNames& names,
                              const std::string& shown_as) {
  const std::string& shown = shown_as.empty() ? path : shown_as;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(shown, ": cannot read this grid file"));
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  std::fclose(f);
  return ParseGrid(text, shown, names);
}

}  // namespace gs::benchmarks
