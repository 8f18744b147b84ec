#include "benchmarks/grid.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
const std::vector<std::string> kFlagKeys = {"lr", "lr_scale", "steps", "eval_every",
                                            "checkpoint_every", "threads"};
// Digits of the learning-rate multipliers the suite adds to a baseline's sweep.
constexpr int kAddedScaleDigits = 4;

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

  // An experiment's "tune": the learning-rate multipliers, the smoothing options swept for
  // its smoothed entries, and the tuning seeds.
  struct Tune {
    std::vector<std::pair<double, std::string>> scales;  // value, as written
    std::vector<std::pair<std::string, std::vector<std::string>>> options;  // option, values
    std::vector<int64_t> seeds;
  };
  // An experiment's keys, parsed.
  struct Experiment {
    At at;
    std::vector<std::string> tasks, presets, optimizers;
    std::vector<At> smoothing_items;  // where each smoothing entry stands, for messages
    std::vector<Smoothing> smoothings;
    std::vector<int64_t> seeds;
    std::vector<std::pair<Override, std::string>> combos;
  };
  absl::StatusOr<Tune> ParseTune(const Experiment& experiment) const;
  // One entry of "experiments": its lists, each value checked.
  absl::StatusOr<Experiment> ParseExperiment(const At& experiment) const;
  // The runs of an experiment without "tune": every combination, added to grid->runs
  // once per run directory (two different runs of one directory are an error).
  struct RunIndex {
    std::map<std::string, size_t> by_dir;  // run directory -> index in grid.runs
    std::vector<std::string> where_of;     // the experiment each run came from
  };
  absl::Status AddRuns(const Experiment& experiment, Grid* grid, RunIndex* index) const;
  // The tuned arms of an experiment with "tune", added to grid->tuned (an arm two
  // experiments make alike is kept once; two different arms of one name are an error).
  absl::Status AddTunedArms(const Experiment& experiment, Grid* grid,
                            std::vector<std::string>* arm_where) const;
  // The arm of one smoothing entry and flag combination, with every candidate.
  absl::StatusOr<TunedArm> MakeArm(const std::string& task, const std::string& preset,
                                   const std::string& optimizer, const Smoothing& smoothing,
                                   bool has_baseline, const Override& overrides,
                                   const std::string& flags_tag, const Tune& tune,
                                   const std::vector<int64_t>& evaluation_seeds,
                                   const std::string& where) const;

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
      if (key == "lr" || key == "lr_scale") {
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

// The baseline's multipliers when each smoothed arm tries `n` / given.size() settings of
// its swept options at each given multiplier: `n` points log-spaced over the same range
// (the ends as given, the others to kAddedScaleDigits digits), so that every arm of the
// experiment gets the same number of trials.
std::vector<std::pair<double, std::string>> SpreadScales(
    std::vector<std::pair<double, std::string>> given, size_t n) {
  std::sort(given.begin(), given.end());
  const double low = given.front().first, high = given.back().first;
  std::vector<std::pair<double, std::string>> spread = {given.front()};
  for (size_t i = 1; i + 1 < n; ++i) {
    const double x = low * std::pow(high / low, static_cast<double>(i) / (n - 1));
    const std::string text = absl::StrFormat("%.*g", kAddedScaleDigits, x);
    spread.push_back({std::strtod(text.c_str(), nullptr), text});
  }
  spread.push_back(given.back());
  return spread;
}

// Orders option values as numbers when both are, else as text.
bool ValueLess(const std::string& a, const std::string& b) {
  double x, y;
  if (absl::SimpleAtod(a, &x) && absl::SimpleAtod(b, &y)) return x < y;
  return a < b;
}

absl::StatusOr<Parser::Tune> Parser::ParseTune(const Experiment& e) const {
  const At& experiment = e.at;
  const std::vector<At>& smoothing_items = e.smoothing_items;
  const std::vector<Smoothing>& smoothings = e.smoothings;
  const std::vector<int64_t>& evaluation_seeds = e.seeds;
  const At tune{&experiment.value->at("tune"), Join(experiment.where, "tune")};
  if (!tune.value->is_object()) {
    return Error(tune.where, absl::StrCat("expected an object {\"lr_scale\": [...], \"seeds\": "
                                          "[...]}, got ", Shown(*tune.value)));
  }
  Tune t;
  GS_ASSIGN_OR_RETURN(std::vector<At> items, List(tune, "lr_scale"));
  for (const At& v : items) {
    GS_ASSIGN_OR_RETURN(double scale,
                        Number(v, 0.0, std::numeric_limits<double>::infinity(), true));
    for (const auto& [other, text] : t.scales) {
      if (other == scale) {
        return Error(v.where, absl::StrCat("lr_scale ", v.value->dump(), " is given twice"));
      }
    }
    t.scales.push_back({scale, v.value->dump()});
  }
  GS_ASSIGN_OR_RETURN(items, List(tune, "seeds"));
  for (const At& v : items) {
    GS_ASSIGN_OR_RETURN(int64_t seed, Int(v, 0, std::numeric_limits<int64_t>::max()));
    if (std::count(evaluation_seeds.begin(), evaluation_seeds.end(), seed)) {
      return Error(v.where, absl::StrCat("seed ", seed, " is also an evaluation seed (",
                                         Join(experiment.where, "seeds"),
                                         "); tuning seeds must be fresh, disjoint from them"));
    }
    if (std::count(t.seeds.begin(), t.seeds.end(), seed)) {
      return Error(v.where, absl::StrCat("seed ", seed, " is given twice"));
    }
    t.seeds.push_back(seed);
  }
  // Every other key sweeps a smoothing option for each smoothed entry.
  for (const auto& [key, value] : tune.value->items()) {
    if (key == "lr_scale" || key == "seeds") continue;
    const std::string where = Join(tune.where, key);
    auto spelled = kSpelledOptions.find(key);
    const std::string option = spelled != kSpelledOptions.end() ? spelled->second : key;
    std::vector<const OptionDecl*> decls;  // the option of each smoothed entry
    for (size_t i = 0; i < smoothings.size(); ++i) {
      const Smoothing& entry = smoothings[i];
      if (entry.name == "none") continue;
      const OptionDecl* decl = names_.transforms.at(entry.name).Find(option);
      if (decl == nullptr) {
        return Error(where, absl::StrCat("smoothing '", entry.name, "' (", smoothing_items[i].where,
                                         ") has no option '", option,
                                         "'; tune takes lr_scale, seeds and options of every "
                                         "smoothed entry"));
      }
      if (entry.given.count(option)) {
        return Error(smoothing_items[i].where,
                     absl::StrCat("option '", option, "' is swept by ", where,
                                  "; leave it out of the entry"));
      }
      decls.push_back(decl);
    }
    if (decls.empty()) {
      return Error(where, absl::StrCat("no smoothed entry in ", Join(experiment.where, "smoothing"),
                                       " to sweep it for; tune takes lr_scale, seeds and options "
                                       "of the smoothed entries"));
    }
    for (const auto& [other, values] : t.options) {
      if (other == option) {
        return Error(where, absl::StrCat("option '", option, "' is swept twice"));
      }
    }
    GS_ASSIGN_OR_RETURN(items, List(tune, key));
    std::vector<std::string> texts;
    for (const At& v : items) {
      if (!v.value->is_number() && !v.value->is_string() && !v.value->is_boolean()) {
        return Error(v.where, absl::StrCat("expected a number, string or true/false, got ",
                                           Shown(*v.value)));
      }
      const std::string text = v.value->is_string() ? v.value->get<std::string>() : v.value->dump();
      for (size_t i = 0, d = 0; i < smoothings.size(); ++i) {
        if (smoothings[i].name == "none") continue;
        if (absl::Status ok = decls[d++]->Check(smoothings[i].name, text); !ok.ok()) {
          return Error(v.where, std::string(ok.message()));
        }
      }
      if (std::count(texts.begin(), texts.end(), text)) {
        return Error(v.where, absl::StrCat(option, " ", text, " is given twice"));
      }
      texts.push_back(text);
    }
    t.options.push_back({option, texts});
  }
  return t;
}

absl::StatusOr<TunedArm> Parser::MakeArm(const std::string& task, const std::string& preset,
                                         const std::string& optimizer, const Smoothing& smoothing,
                                         bool has_baseline, const Override& overrides,
                                         const std::string& flags_tag, const Tune& tune,
                                         const std::vector<int64_t>& evaluation_seeds,
                                         const std::string& where) const {
  TunedArm arm;
  arm.task = task;
  arm.preset = preset;
  arm.optimizer = optimizer;
  arm.smoothing = smoothing.name;
  arm.tuning_seeds = tune.seeds;
  arm.evaluation_seeds = evaluation_seeds;
  const bool smoothed = smoothing.name != "none";
  const std::string flags = flags_tag.empty() ? "" : "-" + flags_tag;
  const std::string prefix = absl::StrCat(task, "/", preset, "/", optimizer, "-");
  // The smoothed arms' settings of their swept options: the cross product.
  std::vector<std::map<std::string, std::string>> settings = {{}};
  for (const auto& [option, values] : tune.options) {
    std::vector<std::map<std::string, std::string>> next;
    for (const auto& setting : settings) {
      for (const std::string& value : values) {
        auto s = setting;
        s[option] = value;
        next.push_back(std::move(s));
      }
    }
    settings = std::move(next);
  }
  std::vector<std::pair<double, std::string>> scales = tune.scales;
  if (smoothed) {
    std::set<std::string> swept;
    for (const auto& [option, values] : tune.options) swept.insert(option);
    arm.swept.assign(swept.begin(), swept.end());
    const std::string tag = smoothing.values.Tag(swept);
    arm.name = absl::StrCat(prefix, smoothing.name, tag.empty() ? "" : "-", tag, flags);
    if (has_baseline) arm.baseline = absl::StrCat(prefix, "none", flags);
  } else {
    arm.name = absl::StrCat(prefix, "none", flags);
    if (settings.size() > 1) {
      scales = SpreadScales(tune.scales, settings.size() * tune.scales.size());
    }
    settings = {{}};
  }
  // lr_scale follows lr in the flags, as in kFlagKeys.
  Override base = overrides;
  const size_t at = !base.empty() && base.front().first == "lr" ? 1 : 0;
  for (const auto& [scale, scale_text] : scales) {
    for (const auto& setting : settings) {
      Candidate c;
      c.lr_scale = scale;
      c.options = setting;
      Smoothing s = smoothing;
      std::vector<std::string> parts;
      if (!setting.empty()) {
        for (const auto& [option, value] : setting) s.given[option] = value;
        absl::StatusOr<OptionValues> values =
            names_.transforms.at(s.name).Resolve(s.name, s.given);
        if (!values.ok()) return Error(where, std::string(values.status().message()));
        s.values = *std::move(values);
        for (const OptionDecl& d : s.values.schema().decls()) {
          if (setting.count(d.name)) parts.push_back(d.tag + setting.at(d.name));
        }
      }
      parts.push_back(absl::StrCat("lr_scale", scale));
      c.name = absl::StrJoin(parts, "-");
      Override o = base;
      o.insert(o.begin() + at, {"lr_scale", scale_text});
      c.run = RunSpec{task, preset, optimizer, std::move(s), 0, std::move(o), ""};
      arm.candidates.push_back(std::move(c));
    }
  }
  std::set<std::string> names;
  for (const Candidate& c : arm.candidates) {
    if (!names.insert(c.name).second) {
      return Error(where, absl::StrCat("two candidates of ", arm.name, " would share the folder ",
                                       c.name, "; make their values differ in the first 6 digits"));
    }
  }
  std::stable_sort(arm.candidates.begin(), arm.candidates.end(),
                   [&arm](const Candidate& a, const Candidate& b) {
                     if (a.lr_scale != b.lr_scale) return a.lr_scale < b.lr_scale;
                     for (const std::string& option : arm.swept) {
                       const std::string &x = a.options.at(option), &y = b.options.at(option);
                       if (x != y) return ValueLess(x, y);
                     }
                     return false;
                   });
  return arm;
}

absl::Status Parser::AddTunedArms(const Experiment& e, Grid* grid,
                                  std::vector<std::string>* arm_where) const {
  const At& experiment = e.at;
  const std::vector<Smoothing>& smoothings = e.smoothings;
  auto flags = experiment.value->find("flags");
  if (flags != experiment.value->end() && flags->contains("lr_scale")) {
    return Error(Join(experiment.where, "flags.lr_scale"),
                 "this experiment tunes lr_scale; give its values in tune.lr_scale only");
  }
  GS_ASSIGN_OR_RETURN(const Tune tune, ParseTune(e));
  const bool has_baseline = std::any_of(smoothings.begin(), smoothings.end(),
                                        [](const Smoothing& s) { return s.name == "none"; });
  size_t settings = 1;
  for (const auto& [option, values] : tune.options) settings *= values.size();
  if (has_baseline && settings > 1 && tune.scales.size() < 2) {
    return Error(Join(experiment.where, "tune.lr_scale"),
                 absl::StrCat("give two or more values: the smoothed arms try ", settings,
                              " settings at each, and the baseline gets as many learning-rate "
                              "points, log-spaced over their range"));
  }
  for (const std::string& task : e.tasks) {
    for (const std::string& preset : e.presets) {
      for (const std::string& optimizer : e.optimizers) {
        for (const Smoothing& smoothing : smoothings) {
          for (const auto& [overrides, tag] : e.combos) {
            GS_ASSIGN_OR_RETURN(TunedArm arm,
                                MakeArm(task, preset, optimizer, smoothing, has_baseline,
                                        overrides, tag, tune, e.seeds, experiment.where));
            auto same = std::find_if(grid->tuned.begin(), grid->tuned.end(),
                                     [&arm](const TunedArm& a) { return a.name == arm.name; });
            if (same == grid->tuned.end()) {
              grid->tuned.push_back(std::move(arm));
              arm_where->push_back(experiment.where);
              continue;
            }
            std::vector<std::vector<std::string>> mine, theirs;
            for (const Candidate& c : arm.candidates) mine.push_back(c.run.TaskArgs());
            for (const Candidate& c : same->candidates) theirs.push_back(c.run.TaskArgs());
            if (mine != theirs || arm.tuning_seeds != same->tuning_seeds ||
                arm.evaluation_seeds != same->evaluation_seeds) {
              return Error(experiment.where,
                           absl::StrCat("the tuned arm ", arm.name, " is also made by ",
                                        (*arm_where)[same - grid->tuned.begin()],
                                        " with other candidates or seeds; give it once"));
            }
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Parser::Experiment> Parser::ParseExperiment(const At& experiment) const {
  GS_RETURN_IF_ERROR(CheckKeys(
      experiment, {"tasks", "preset", "optimizers", "smoothing", "seeds", "flags", "tune"}));
  Experiment x;
  x.at = experiment;
  GS_ASSIGN_OR_RETURN(std::vector<At> items, List(experiment, "tasks"));
  for (const At& v : items) {
    GS_ASSIGN_OR_RETURN(std::string task, OneOf(v, names_.tasks, "task"));
    x.tasks.push_back(task);
  }
  GS_ASSIGN_OR_RETURN(items, List(experiment, "preset"));
  for (const At& v : items) {
    GS_ASSIGN_OR_RETURN(std::string preset, OneOf(v, kPresets, "preset"));
    x.presets.push_back(preset);
  }
  GS_ASSIGN_OR_RETURN(items, List(experiment, "optimizers"));
  for (const At& v : items) {
    GS_ASSIGN_OR_RETURN(std::string optimizer, OneOf(v, names_.optimizers, "optimizer"));
    x.optimizers.push_back(optimizer);
  }
  GS_ASSIGN_OR_RETURN(x.smoothing_items, List(experiment, "smoothing"));
  for (const At& v : x.smoothing_items) {
    GS_ASSIGN_OR_RETURN(Smoothing s, ParseSmoothing(v));
    x.smoothings.push_back(s);
  }
  GS_ASSIGN_OR_RETURN(items, List(experiment, "seeds"));
  for (const At& v : items) {
    GS_ASSIGN_OR_RETURN(int64_t seed, Int(v, 0, std::numeric_limits<int64_t>::max()));
    x.seeds.push_back(seed);
  }
  GS_ASSIGN_OR_RETURN(x.combos, ParseFlags(experiment));
  return x;
}

absl::Status Parser::AddRuns(const Experiment& x, Grid* grid, RunIndex* index) const {
  for (int64_t seed : x.seeds) {
    for (const std::string& task : x.tasks) {
      for (const std::string& preset : x.presets) {
        for (const std::string& optimizer : x.optimizers) {
          for (const Smoothing& smoothing : x.smoothings) {
            for (const auto& [overrides, tag] : x.combos) {
              RunSpec run{task, preset, optimizer, smoothing, seed, overrides, ""};
              run.dir = absl::StrCat(task, "/", preset, "/", optimizer, "-", smoothing.Tag(),
                                     tag.empty() ? "" : "-", tag, "/seed", seed);
              auto [it, added] = index->by_dir.emplace(run.dir, grid->runs.size());
              if (added) {
                grid->runs.push_back(std::move(run));
                index->where_of.push_back(x.at.where);
              } else if (grid->runs[it->second].TaskArgs() != run.TaskArgs()) {
                return Error(x.at.where,
                             absl::StrCat("two different runs (flags ",
                                          absl::StrJoin(run.TaskArgs(), " "), " here and ",
                                          absl::StrJoin(grid->runs[it->second].TaskArgs(), " "),
                                          " in ", index->where_of[it->second],
                                          ") would share the run directory ", run.dir,
                                          "; make their values differ in the first 6 digits"));
              }
            }
          }
        }
      }
    }
  }
  return absl::OkStatus();
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
  RunIndex index;
  std::vector<std::string> arm_where;  // the experiment each tuned arm came from
  for (size_t e = 0; e < root["experiments"].size(); ++e) {
    const At at{&root["experiments"][e], absl::StrCat("experiments[", e, "]")};
    GS_ASSIGN_OR_RETURN(Experiment x, ParseExperiment(at));
    if (at.value->contains("tune")) {
      GS_RETURN_IF_ERROR(AddTunedArms(x, &grid, &arm_where));
    } else {
      GS_RETURN_IF_ERROR(AddRuns(x, &grid, &index));
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

RunSpec TunedArm::Trial(size_t candidate, int64_t seed) const {
  RunSpec run = candidates.at(candidate).run;
  run.seed = seed;
  run.dir = absl::StrCat("tune/", name, "/", candidates[candidate].name, "/seed", seed);
  return run;
}

RunSpec TunedArm::Evaluation(size_t candidate, int64_t seed) const {
  RunSpec run = candidates.at(candidate).run;
  run.seed = seed;
  run.dir = absl::StrCat("tuned/", name, "/", candidates[candidate].name, "/seed", seed);
  return run;
}

std::vector<RunSpec> TunedArm::Trials() const {
  std::vector<RunSpec> trials;
  for (int64_t seed : tuning_seeds) {
    for (size_t c = 0; c < candidates.size(); ++c) trials.push_back(Trial(c, seed));
  }
  return trials;
}

std::string TunedArm::TuningJsonPath() const { return absl::StrCat("tune/", name, "/tuning.json"); }

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
