#include "reports/table_format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "reports/stats.h"

namespace gs::reports {
namespace {

constexpr char kDash[] = "–";

std::string Arrow(const std::string& goal) { return goal == "max" ? "↑" : "↓"; }

std::string Value(double v) { return absl::StrFormat("%.4g", v); }

// "mean ± std (n)", or what is known when there is less.
std::string MeanCell(const Row& r) {
  if (r.n == 0) {
    std::vector<std::string> why;
    if (r.n_diverged > 0) why.push_back(absl::StrCat(r.n_diverged, " diverged"));
    if (r.n_failed > 0) why.push_back(absl::StrCat(r.n_failed, " failed"));
    return absl::StrCat(kDash, " (0; ", absl::StrJoin(why, ", "), ")");
  }
  if (r.n == 1) return absl::StrCat(Value(r.mean), " (1)");
  return absl::StrCat(Value(r.mean), " ± ", absl::StrFormat("%.2g", r.std), " (", r.n, ")");
}

std::string PValue(const std::optional<double>& p) {
  if (!p) return kDash;
  return *p < 1e-4 ? std::string("<1e-4") : absl::StrFormat("%.3g", *p);
}

std::string Delta(const std::optional<double>& d) {
  return d ? absl::StrFormat("%+.3g", *d) : std::string(kDash);
}

bool Better(double a, double b, const std::string& goal) { return goal == "max" ? a > b : a < b; }

std::string GroupTitle(const Row& r) {
  return absl::StrCat(r.task, " / ", r.preset, " / ", OptimizerName(r.optimizer), " (",
                      r.metric, " ", Arrow(r.goal), ")");
}

std::string Setting(const Row& r) {
  return r.overrides.empty() ? r.smoothing_label
                             : absl::StrCat(r.smoothing_label, " (", r.overrides, ")");
}

// "mean [low, high]", the interval cut to the range of `quantity` (stats.h).
std::string WithInterval(const std::vector<double>& x, const std::string& quantity) {
  if (x.empty()) return kDash;
  auto ci = BoundedInterval95(x, quantity);
  if (!ci) return Value(Mean(x));
  return absl::StrCat(Value(Mean(x)), " [", Value(ci->low), ", ", Value(ci->high), "]");
}

std::string MarkdownCell(const Cell& c) {
  std::string text = absl::StrReplaceAll(c.text, {{"|", "\\|"}});
  return c.bold ? absl::StrCat("**", text, "**") : text;
}

}  // namespace

std::string LatexEscape(const std::string& text) {
  return absl::StrReplaceAll(text, {{"\\", "\\textbackslash{}"},
                                    {"&", "\\&"},
                                    {"%", "\\%"},
                                    {"$", "\\$"},
                                    {"#", "\\#"},
                                    {"_", "\\_"},
                                    {"{", "\\{"},
                                    {"}", "\\}"},
                                    {"~", "\\textasciitilde{}"},
                                    {"^", "\\textasciicircum{}"},
                                    {"<", "\\textless{}"},
                                    {">", "\\textgreater{}"},
                                    {"|", "\\textbar{}"},
                                    {"±", "$\\pm$"},
                                    {"↑", "$\\uparrow$"},
                                    {"↓", "$\\downarrow$"},
                                    {"†", "$^\\dagger$"},
                                    {"Δ", "$\\Delta$"},
                                    {"–", "--"}});
}

Section TunedTables(const TunedSummary& tuned) {
  Section section;
  section.title = "Tuned results";
  section.note =
      "Each arm (task x optimizer x smoothing) at its own best setting: lr_scale (x the "
      "preset's learning rate) and the swept smoothing options chosen by the mean final "
      "selection metric (a validation metric) over the tuning seeds; the reported metric over "
      "the evaluation seeds, which tuning never saw: mean ± sample std (n), 95% CI (cut to the "
      "metric's range), Δ and p against the baseline arm (paired t-test by seed, else "
      "Welch's), bold the best of a task and optimizer, † p < 0.05. Steps to target: the first "
      "evaluation at which the arm's median selection metric over its seeds reaches the "
      "baseline's median final one (the baseline: its last evaluation); – never.";
  std::vector<std::string> presets;
  for (const TunedRow& t : tuned.rows) {
    if (std::find(presets.begin(), presets.end(), t.preset) == presets.end()) {
      presets.push_back(t.preset);
    }
  }
  for (const std::string& preset : presets) {
    Table table;
    table.title = absl::StrCat("Tuned results, preset ", preset);
    table.header = {"Task", "Optimizer", "Smoothing", "lr_scale", "Selected on (tuning seeds)",
                    "Mean ± std (n)", "95% CI", "Δ", "p", "Steps to target"};
    table.align = "lllrlrrrrr";
    for (const TunedRow& t : tuned.rows) {
      if (t.preset != preset) continue;
      const Row& r = t.row;
      const TunedCandidate* c = t.chosen >= 0 ? &t.candidates[t.chosen] : nullptr;
      std::string setting = r.runs.empty() ? t.smoothing : r.smoothing_label;
      std::string mean = MeanCell(r);
      if (t.state == "none_eligible") mean = absl::StrCat(kDash, " (every candidate diverged)");
      if (t.state == "pending") mean = absl::StrCat(kDash, " (tuning unfinished)");
      bool best = r.n > 0;
      for (const TunedRow& other : tuned.rows) {
        if (other.task == t.task && other.preset == t.preset && other.optimizer == t.optimizer &&
            other.row.n > 0 && r.n > 0 && Better(other.row.mean, r.mean, r.goal)) {
          best = false;
        }
      }
      Cell mean_cell{mean, best};
      if (r.p_value && *r.p_value < 0.05) mean_cell.text += "†";
      const std::string metric =
          r.metric.empty() ? "" : absl::StrCat(" (", r.metric, " ", Arrow(r.goal), ")");
      table.rows.push_back(
          {{t.task + metric},
           {OptimizerName(t.optimizer)},
           {setting},
           {c ? absl::StrFormat("%g", c->lr_scale) : std::string(kDash)},
           {c && c->value ? absl::StrCat(t.selection_metric, " ", Value(*c->value))
                          : std::string(kDash)},
           mean_cell,
           {r.ci95 ? absl::StrCat("[", Value(r.ci95->low), ", ", Value(r.ci95->high), "]")
                   : std::string(kDash)},
           {t.baseline >= 0 ? Delta(r.delta) : std::string(kDash)},
           {r.p_value ? absl::StrCat(PValue(r.p_value), " (", r.test, ")") : std::string(kDash)},
           {t.steps_to_target ? absl::StrCat(*t.steps_to_target) : std::string(kDash)}});
    }
    section.tables.push_back(std::move(table));
  }
  if (section.tables.empty()) {
    section.note = "No tuned arms (a grid with \"tune\", e.g. tuned_quick, records them).";
  }
  return section;
}

Section MainTables(const Summary& summary) {
  Section section;
  section.title = "Main results, untuned (preset learning rates)";
  section.note = absl::StrCat(
      "Primary metric at the end of training, every arm at its preset's learning rate (no "
      "tuning; see Tuned results): mean ± sample std (completed runs). +GS is "
      "Gradient Smoothing with the default setting `",
      kDefaultSmoothingTag,
      "`; best per row in bold (↑ higher is better, ↓ lower); † marks a +GS cell whose "
      "p-value against the same optimizer without smoothing is below 0.05.");
  // preset -> task -> rows of the main configuration.
  std::vector<std::string> presets;
  std::map<std::string, std::vector<const Row*>> by_preset;
  for (const Row& r : summary.rows) {
    if (!r.overrides.empty()) continue;
    if (r.smoothing != "none" && r.smoothing != kDefaultSmoothingTag) continue;
    if (!by_preset.count(r.preset)) presets.push_back(r.preset);
    by_preset[r.preset].push_back(&r);
  }
  std::sort(presets.begin(), presets.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(PresetRank(a), a) < std::make_pair(PresetRank(b), b);
  });
  for (const std::string& preset : presets) {
    const std::vector<const Row*>& rows = by_preset[preset];
    std::vector<std::string> optimizers;
    std::vector<std::pair<std::string, std::string>> tasks;  // task, metric
    for (const Row* r : rows) {
      if (std::find(optimizers.begin(), optimizers.end(), r->optimizer) == optimizers.end()) {
        optimizers.push_back(r->optimizer);
      }
      if (std::find(tasks.begin(), tasks.end(), std::make_pair(r->task, r->metric)) == tasks.end()) {
        tasks.push_back({r->task, r->metric});
      }
    }
    std::sort(optimizers.begin(), optimizers.end(), [](const auto& a, const auto& b) {
      return std::make_pair(OptimizerRank(a), a) < std::make_pair(OptimizerRank(b), b);
    });
    Table table;
    table.title = absl::StrCat("Main results (untuned), preset ", preset);
    table.header = {"Task"};
    table.align = "l";
    for (const std::string& o : optimizers) {
      table.header.push_back(OptimizerName(o));
      table.header.push_back("+GS");
      table.align += "rr";
    }
    for (const auto& [task, metric] : tasks) {
      std::vector<const Row*> cells;
      std::string goal;
      for (const std::string& o : optimizers) {
        for (const char* tag : {"none", kDefaultSmoothingTag}) {
          const Row* found = nullptr;
          for (const Row* r : rows) {
            if (r->task == task && r->metric == metric && r->optimizer == o && r->smoothing == tag) {
              found = r;
              goal = r->goal;
            }
          }
          cells.push_back(found);
        }
      }
      double best = std::nan("");
      for (const Row* r : cells) {
        if (r && r->n > 0 && (std::isnan(best) || Better(r->mean, best, goal))) best = r->mean;
      }
      std::vector<Cell> line = {{absl::StrCat(task, " (", metric, " ", Arrow(goal), ")")}};
      for (const Row* r : cells) {
        if (!r) {
          line.push_back({kDash});
          continue;
        }
        Cell c{MeanCell(*r), r->n > 0 && r->mean == best};
        if (r->smoothing != "none" && r->p_value && *r->p_value < 0.05) c.text += "†";
        line.push_back(c);
      }
      table.rows.push_back(std::move(line));
    }
    section.tables.push_back(std::move(table));
  }
  if (section.tables.empty()) section.note = "No completed or counted runs.";
  return section;
}

Section AblationTables(const Summary& summary) {
  Section section;
  section.title = "Ablations";
  section.note =
      "Every smoothing setting and configuration of a task/preset/optimizer that has more than "
      "the baseline and the default +GS. Δ: mean minus the same configuration without "
      "smoothing; p: paired t-test by seed when both share their seeds, else Welch's.";
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<const Row*>> groups;
  std::vector<std::tuple<std::string, std::string, std::string>> order;
  for (const Row& r : summary.rows) {
    auto key = std::make_tuple(r.task, r.preset, r.optimizer);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&r);
  }
  for (const auto& key : order) {
    const std::vector<const Row*>& rows = groups[key];
    bool more = false;
    for (const Row* r : rows) {
      more |= !r->overrides.empty() || (r->smoothing != "none" && r->smoothing != kDefaultSmoothingTag);
    }
    if (!more) continue;
    Table table;
    table.title = GroupTitle(*rows.front());
    table.header = {"Smoothing", "Config", "Mean ± std (n)", "Diverged", "Failed", "Δ", "p"};
    table.align = "llrrrrr";
    for (const Row* r : rows) {
      table.rows.push_back({{r->smoothing_label},
                            {r->overrides.empty() ? kDash : r->overrides},
                            {MeanCell(*r)},
                            {absl::StrCat(r->n_diverged)},
                            {absl::StrCat(r->n_failed)},
                            {Delta(r->delta)},
                            {r->p_value ? absl::StrCat(PValue(r->p_value), " (", r->test, ")")
                                        : std::string(kDash)}});
    }
    section.tables.push_back(std::move(table));
  }
  if (section.tables.empty()) section.note = "No ablation runs (only the baseline and the default +GS).";
  return section;
}

Section FamilyTables(const Summary& summary) {
  Section section;
  section.title = "Depth-transform family";
  section.note =
      "Each transform setting against the same optimizer without smoothing, per task and "
      "preset (the most common configuration): mean ± sample std (n seeds); bold is the best "
      "in its column; † marks p < 0.05 against none.";
  std::map<std::pair<std::string, std::string>, std::vector<const Row*>> groups;
  std::vector<std::pair<std::string, std::string>> order;
  for (const Row& r : summary.rows) {
    if (!r.overrides.empty()) continue;
    auto key = std::make_pair(r.task, r.preset);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&r);
  }
  for (const auto& key : order) {
    const std::vector<const Row*>& rows = groups[key];
    std::vector<std::string> optimizers, settings, transforms;
    std::map<std::string, std::string> labels;  // smoothing tag -> label
    for (const Row* r : rows) {
      if (std::find(optimizers.begin(), optimizers.end(), r->optimizer) == optimizers.end()) {
        optimizers.push_back(r->optimizer);
      }
      if (!labels.count(r->smoothing)) settings.push_back(r->smoothing);
      labels[r->smoothing] = r->smoothing_label;
      if (r->smoothing != "none" && std::find(transforms.begin(), transforms.end(),
                                              r->smoothing_name) == transforms.end()) {
        transforms.push_back(r->smoothing_name);
      }
    }
    if (transforms.size() < 2) continue;  // one transform: the ablation tables say it all
    std::sort(optimizers.begin(), optimizers.end(), [](const auto& a, const auto& b) {
      return OptimizerRank(a) != OptimizerRank(b) ? OptimizerRank(a) < OptimizerRank(b) : a < b;
    });
    std::sort(settings.begin(), settings.end(), SmoothingLess);
    Table table;
    table.title = absl::StrCat(key.first, " / ", key.second, " (", rows.front()->metric, " ",
                               Arrow(rows.front()->goal), ")");
    table.header = {"Smoothing"};
    table.align = "l";
    for (const std::string& o : optimizers) {
      table.header.push_back(OptimizerName(o));
      table.align += "r";
    }
    auto find = [&](const std::string& optimizer, const std::string& smoothing) -> const Row* {
      for (const Row* r : rows) {
        if (r->optimizer == optimizer && r->smoothing == smoothing) return r;
      }
      return nullptr;
    };
    for (const std::string& setting : settings) {
      std::vector<Cell> line = {{labels[setting]}};
      for (const std::string& o : optimizers) {
        const Row* r = find(o, setting);
        if (r == nullptr || r->n == 0) {
          line.push_back({kDash});
          continue;
        }
        Cell c{MeanCell(*r)};
        if (r->smoothing != "none" && r->p_value && *r->p_value < 0.05) c.text += "†";
        bool best = true;
        for (const std::string& other : settings) {
          const Row* q = find(o, other);
          if (q != nullptr && q->n > 0 && Better(q->mean, r->mean, r->goal)) best = false;
        }
        c.bold = best;
        line.push_back(c);
      }
      table.rows.push_back(std::move(line));
    }
    section.tables.push_back(std::move(table));
  }
  if (section.tables.empty()) section.note = "No task/preset was run with more than one depth transform.";
  return section;
}

Section OverheadTable(const Summary& summary) {
  Section section;
  section.title = "Overhead";
  section.note =
      "Mean seconds per training step (forward, backward, optimizer) over completed runs, "
      "from run.json's seconds_per_step; ratio = smoothed / baseline.";
  Table table;
  table.title = "Seconds per step with and without smoothing";
  table.header = {"Task", "Preset", "Optimizer", "Smoothing", "s/step (none)", "s/step (smoothed)",
                  "Ratio"};
  table.align = "llllrrr";
  auto seconds = [](const Row& r) {
    std::vector<double> x;
    for (const Run* run : r.runs) {
      if (run->status == tasks::RunStatus::kCompleted && run->seconds_per_step) x.push_back(*run->seconds_per_step);
    }
    return x;
  };
  for (const Row& r : summary.rows) {
    if (r.smoothing == "none" || r.baseline < 0 || !r.overrides.empty()) continue;
    const std::vector<double> with = seconds(r), without = seconds(summary.rows[r.baseline]);
    if (with.empty() || without.empty()) continue;
    table.rows.push_back({{r.task},
                          {r.preset},
                          {OptimizerName(r.optimizer)},
                          {r.smoothing_label},
                          {absl::StrFormat("%.4g", Mean(without))},
                          {absl::StrFormat("%.4g", Mean(with))},
                          {absl::StrFormat("%.3f", Mean(with) / Mean(without))}});
  }
  if (table.rows.empty()) {
    section.note = "No pair of smoothed and baseline runs records seconds_per_step.";
  } else {
    section.tables.push_back(std::move(table));
  }
  return section;
}

Section DepthTable(const Summary& summary) {
  Section section;
  section.title = "Depth similarity";
  section.note =
      "At the end of training (depth.json's last record), per chain of blocks: mean linear "
      "CKA between adjacent blocks' outputs and mean cosine between consecutive blocks' "
      "residual increments; mean [95% CI] over completed runs (seeds).";
  Table table;
  table.title = "Adjacent-block similarity at the end of training";
  table.header = {"Task", "Preset", "Optimizer", "Smoothing", "Chain", "n", "Adjacent CKA",
                  "Increment cosine"};
  table.align = "lllllrrr";
  for (const Row& r : summary.rows) {
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> chains;
    std::map<std::string, int> count;
    for (const Run* run : r.runs) {
      if (run->status != tasks::RunStatus::kCompleted) continue;
      for (const DepthChain& c : run->depth) {
        ++count[c.name];
        if (c.mean_adjacent_cka) chains[c.name].first.push_back(*c.mean_adjacent_cka);
        if (c.mean_increment_cosine) chains[c.name].second.push_back(*c.mean_increment_cosine);
      }
    }
    for (const auto& [name, n] : count) {
      table.rows.push_back({{r.task},
                            {r.preset},
                            {OptimizerName(r.optimizer)},
                            {Setting(r)},
                            {name},
                            {absl::StrCat(n)},
                            {WithInterval(chains[name].first, "cka")},
                            {WithInterval(chains[name].second, "cosine")}});
    }
  }
  if (table.rows.empty()) {
    section.note = "No completed run has a depth.json.";
  } else {
    section.tables.push_back(std::move(table));
  }
  return section;
}

std::vector<Section> AllTables(const Summary& summary, const TunedSummary& tuned) {
  return {TunedTables(tuned),    MainTables(summary),    AblationTables(summary),
          FamilyTables(summary), OverheadTable(summary), DepthTable(summary)};
}

std::string RenderMarkdown(const std::vector<Section>& sections) {
  std::string md = "# Tables\n";
  for (const Section& s : sections) {
    absl::StrAppend(&md, "\n## ", s.title, "\n\n", s.note, "\n");
    for (const Table& t : s.tables) {
      absl::StrAppend(&md, "\n### ", t.title, "\n\n| ", absl::StrJoin(t.header, " | "), " |\n|");
      for (char a : t.align) md += a == 'r' ? "--:|" : ":--|";
      md += "\n";
      for (const std::vector<Cell>& row : t.rows) {
        std::vector<std::string> cells;
        for (const Cell& c : row) cells.push_back(MarkdownCell(c));
        absl::StrAppend(&md, "| ", absl::StrJoin(cells, " | "), " |\n");
      }
    }
  }
  return md;
}

std::string RenderLatex(const std::vector<Section>& sections) {
  std::string tex =
      "% Generated by //reports:tables. Needs \\usepackage{booktabs}; symbols are LaTeX\n"
      "% commands, so the input encoding does not matter.\n";
  for (const Section& s : sections) {
    absl::StrAppend(&tex, "\n% ", s.title, ": ", LatexEscape(s.note), "\n");
    for (const Table& t : s.tables) {
      std::vector<std::string> header;
      for (const std::string& h : t.header) header.push_back(LatexEscape(h));
      absl::StrAppend(&tex, "\\begin{table}[htbp]\n\\centering\n\\caption{", LatexEscape(t.title),
                      "}\n\\begin{tabular}{", t.align, "}\n\\toprule\n",
                      absl::StrJoin(header, " & "), " \\\\\n\\midrule\n");
      for (const std::vector<Cell>& row : t.rows) {
        std::vector<std::string> cells;
        for (const Cell& c : row) {
          cells.push_back(c.bold ? absl::StrCat("\\textbf{", LatexEscape(c.text), "}")
                                 : LatexEscape(c.text));
        }
        absl::StrAppend(&tex, absl::StrJoin(cells, " & "), " \\\\\n");
      }
      tex += "\\bottomrule\n\\end{tabular}\n\\end{table}\n";
    }
  }
  return tex;
}

}  // namespace gs::reports
