#include "reports/figures.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "benchmarks/subprocess.h"
#include "tasks/harness/files.h"
#include "reports/stats.h"

namespace gs::reports {

using tasks::ReadFile;
using tasks::WriteFileAtomic;
namespace {

namespace fs = std::filesystem;

std::string Num(double v) { return absl::StrFormat("%.9g", v); }

// File names keep letters, digits, '.', '-' and '_'.
std::string Sanitize(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  return out;
}

// A gnuplot string literal in double quotes.
std::string Quoted(const std::string& s) {
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

std::string ArmLabel(const Row& r) {
  const std::string name = OptimizerName(r.optimizer);
  if (r.smoothing == "none") return name;
  if (r.smoothing == kDefaultSmoothingTag) return name + " +GS";
  return absl::StrCat(name, " ", r.smoothing_label);
}

// "AdamW ema rho=* direction=backward": the series' label with its strength starred.
std::string StrengthLabel(const Row& r, const Run& run) {
  Row baseline = r;
  baseline.smoothing = "none";
  std::vector<std::string> words = absl::StrSplit(run.smoothing_label, ' ');
  for (std::string& w : words) {
    if (absl::StartsWith(w, run.strength_name + "=")) w = run.strength_name + "=*";
  }
  return absl::StrCat(ArmLabel(baseline), " ", absl::StrJoin(words, " "));
}

std::vector<const Run*> Completed(const Row& r) {
  std::vector<const Run*> runs;
  for (const Run* run : r.runs) {
    if (run->status == tasks::RunStatus::kCompleted) runs.push_back(run);
  }
  return runs;
}

// One block of "step median min max" lines over the runs' curves, step by step.
std::string CurveBlock(const std::vector<const Run*>& runs,
                       std::vector<CurvePoint> Run::*curve) {
  std::map<int64_t, std::vector<double>> at;
  for (const Run* r : runs) {
    for (const CurvePoint& p : r->*curve) at[p.step].push_back(p.value);
  }
  std::string block;
  for (const auto& [step, values] : at) {
    absl::StrAppend(&block, step, " ", Num(Median(values)), " ",
                    Num(*std::min_element(values.begin(), values.end())), " ",
                    Num(*std::max_element(values.begin(), values.end())), "\n");
  }
  return block;
}

struct Spec {
  std::string name;   // file stem
  std::string title;
  std::string data;   // the data file's contents (blocks separated by two blank lines)
  std::string body;   // gnuplot commands that draw the figure once a terminal is set
  int width = 900, height = 560;
};

std::string Script(const Spec& s) {
  std::string script = absl::StrCat(
      "# ", s.title, "\n# Re-plot in this folder: gnuplot ", s.name, ".gp\n",
      "if (!exists(\"suffix\")) suffix = \"\"\n");
  const std::vector<std::pair<std::string, std::string>> terminals = {
      {"pngcairo", ".png"}, {"svg", ".svg"}};
  for (const auto& [terminal, ext] : terminals) {
    absl::StrAppend(&script, "reset\nset terminal ", terminal, " size ", s.width, ",", s.height,
                    " noenhanced font \"Sans,10\"\n", "set output '", s.name, ext,
                    "'.suffix\n", s.body, "unset output\n");
  }
  return script;
}

// Runs gnuplot on the script in `dir`, writing NAME.png.tmp and NAME.svg.tmp, then
// renames them; returns "" or what went wrong.
std::string Draw(const std::string& gnuplot, const std::string& dir, const std::string& name) {
  const std::string log = absl::StrCat(dir, "/", name, ".log.tmp");
  const std::string script = name + ".gp";
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  benchmarks::SpawnSpec spec;
  spec.argv = {gnuplot, "-e", "suffix='.tmp'", script};
  spec.dir = dir;
  spec.stdout_fd = spec.stderr_fd = fd;
  const absl::StatusOr<pid_t> pid = benchmarks::SpawnProcess(spec);
  if (fd >= 0) close(fd);
  if (!pid.ok()) return "fork failed";
  const int code = benchmarks::WaitForExit(*pid);
  absl::StatusOr<std::string> output = ReadFile(log);
  std::remove(log.c_str());
  const std::string base = absl::StrCat(dir, "/", name);
  std::string problem;
  if (code != 0) {
    problem = absl::StrCat("gnuplot exited with ", code >= 128 ? -1 : code);
  } else if (!fs::exists(base + ".png.tmp") || !fs::exists(base + ".svg.tmp")) {
    problem = "gnuplot wrote no image";
  } else if (std::rename((base + ".png.tmp").c_str(), (base + ".png").c_str()) != 0 ||
             std::rename((base + ".svg.tmp").c_str(), (base + ".svg").c_str()) != 0) {
    problem = "renaming the images failed";
  }
  if (!problem.empty()) {
    std::remove((base + ".png.tmp").c_str());
    std::remove((base + ".svg.tmp").c_str());
    if (output.ok() && !output->empty()) {
      std::vector<std::string> lines = absl::StrSplit(*output, '\n', absl::SkipWhitespace());
      if (lines.size() > 3) lines.resize(3);
      absl::StrAppend(&problem, ": ", absl::StrJoin(lines, " / "));
    }
  }
  return problem;
}

// Training loss and primary-metric curves per task/preset: median over seeds with a
// min-max band, one line per arm (optimizer x smoothing) of the main configuration.
void CurveSpecs(const Summary& summary, std::vector<Spec>* specs) {
  std::vector<std::tuple<std::string, std::string, std::string>> keys;
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<const Row*>> arms;
  for (const Row& r : summary.rows) {
    if (!r.overrides.empty() || r.n == 0) continue;
    auto key = std::make_tuple(r.task, r.preset, r.metric);
    if (!arms.count(key)) keys.push_back(key);
    arms[key].push_back(&r);
  }
  for (const auto& key : keys) {
    const auto& [task, preset, metric] = key;
    std::vector<std::pair<std::string, std::vector<CurvePoint> Run::*>> kinds = {
        {"train_loss", &Run::train_loss}};
    if (metric != "train_loss") kinds.push_back({metric, &Run::primary});
    for (const auto& [what, curve] : kinds) {
      Spec s;
      s.name = Sanitize(absl::StrCat("curve_", what, "_", task, "_", preset));
      s.title = absl::StrCat(task, " (", preset, "): ", what,
                             " over steps, median over seeds, band min to max");
      std::string plots;
      int index = 0;
      for (const Row* r : arms[key]) {
        const std::string block = CurveBlock(Completed(*r), curve);
        if (block.empty()) continue;
        absl::StrAppend(&s.data, index ? "\n\n" : "", "# ", ArmLabel(*r), " (", r->smoothing,
                        ")\n", block);
        const int color = index + 1;
        absl::StrAppend(&plots, plots.empty() ? "plot " : ", \\\n     ", "'", s.name,
                        ".dat' index ", index, " using 1:3:4 with filledcurves lc ", color,
                        " notitle, \\\n     '' index ", index, " using 1:2 with lines lw 2 lc ",
                        color, " title ", Quoted(ArmLabel(*r)));
        ++index;
      }
      if (index == 0) continue;
      s.body = absl::StrCat("set title ", Quoted(absl::StrCat(task, " (", preset, ")")), "\n",
                            "set xlabel \"step\"\nset ylabel ", Quoted(what), "\n",
                            "set grid\nset key below\n",
                            "set style fill transparent solid 0.2 noborder\n", plots, "\n");
      specs->push_back(std::move(s));
    }
  }
}

// Primary metric against the smoothing strength (alpha, rho) per optimizer and smoothing
// family (settings equal but for the strength), with the baseline at 0: mean with 95% CI
// bars.
void AlphaSpecs(const Summary& summary, std::vector<Spec>* specs) {
  using Series = std::vector<std::pair<double, const Row*>>;
  std::vector<std::tuple<std::string, std::string, std::string>> keys;
  std::map<std::tuple<std::string, std::string, std::string>,
           std::map<std::pair<int, std::string>, std::pair<std::string, Series>>>
      figures;  // task/preset/metric -> (optimizer rank, optimizer + family) -> series
  for (const Row& r : summary.rows) {
    if (!r.overrides.empty() || r.smoothing == "none" || r.n == 0) continue;
    const Run* first = Completed(r).front();
    if (!first->strength) continue;
    auto key = std::make_tuple(r.task, r.preset, r.metric);
    if (!figures.count(key)) keys.push_back(key);
    auto& [label, series] = figures[key][{OptimizerRank(r.optimizer),
                                          absl::StrCat(r.optimizer, " ", first->smoothing_family)}];
    if (series.empty()) {
      label = StrengthLabel(r, *first);
      if (r.baseline >= 0 && summary.rows[r.baseline].n > 0) {
        series.push_back({0.0, &summary.rows[r.baseline]});
      }
    }
    series.push_back({*first->strength, &r});
  }
  for (const auto& key : keys) {
    const auto& [task, preset, metric] = key;
    Spec s;
    s.name = Sanitize(absl::StrCat("alpha_", task, "_", preset));
    s.title = absl::StrCat(task, " (", preset, "): ", metric,
                           " against smoothing strength, mean and 95% CI over seeds");
    std::string plots;
    int index = 0;
    for (auto& [order, entry] : figures[key]) {
      auto& [label, series] = entry;
      std::set<double> alphas;
      for (const auto& [alpha, row] : series) {
        if (alpha > 0) alphas.insert(alpha);
      }
      if (alphas.size() < 2) continue;
      std::sort(series.begin(), series.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      absl::StrAppend(&s.data, index ? "\n\n" : "", "# ", label, "\n# alpha mean ci95_low ci95_high n\n");
      for (const auto& [alpha, row] : series) {
        const double low = row->ci95 ? row->ci95->low : row->mean;
        const double high = row->ci95 ? row->ci95->high : row->mean;
        absl::StrAppend(&s.data, Num(alpha), " ", Num(row->mean), " ", Num(low), " ", Num(high),
                        " ", row->n, "\n");
      }
      absl::StrAppend(&plots, plots.empty() ? "plot " : ", \\\n     ", "'", s.name, ".dat' index ",
                      index, " using 1:2:3:4 with yerrorlines lw 2 pt 7 lc ", index + 1,
                      " title ", Quoted(label));
      ++index;
    }
    if (index == 0) continue;
    s.body = absl::StrCat("set title ", Quoted(absl::StrCat(task, " (", preset, ")")), "\n",
                          "set xlabel \"smoothing strength: alpha or rho (0 = no smoothing)\"\nset ylabel ",
                          Quoted(metric), "\nset grid\nset key below\n",
                          "set offsets 0.02, 0.02, 0, 0\n", plots, "\n");
    specs->push_back(std::move(s));
  }
}

// The element-wise mean CKA matrix over a row's completed runs for one chain; empty when
// no run has it. Runs whose matrix has another size are left out with a warning.
std::vector<std::vector<double>> MeanCka(const Row& r, const std::string& chain,
                                         std::vector<std::string>* warnings) {
  std::vector<std::vector<double>> sum;
  int n = 0;
  for (const Run* run : Completed(r)) {
    for (const DepthChain& c : run->depth) {
      if (c.name != chain || c.cka.empty()) continue;
      if (n == 0) sum.assign(c.cka.size(), std::vector<double>(c.cka.size(), 0.0));
      if (c.cka.size() != sum.size()) {
        warnings->push_back(absl::StrCat(run->path, "/depth.json: chain '", chain, "' has ",
                                         c.cka.size(), " blocks, other seeds ", sum.size(),
                                         "; left out of the heatmap"));
        continue;
      }
      for (size_t i = 0; i < sum.size(); ++i) {
        for (size_t j = 0; j < sum.size(); ++j) sum[i][j] += c.cka[i][j];
      }
      ++n;
    }
  }
  for (auto& row : sum) {
    for (double& v : row) v /= n;
  }
  return sum;
}

// Depth-similarity heatmaps: the mean CKA matrix of the baseline beside a smoothed
// setting's, per task/preset/optimizer/chain.
void DepthSpecs(const Summary& summary, std::vector<Spec>* specs,
                std::vector<std::string>* warnings) {
  for (const Row& r : summary.rows) {
    if (!r.overrides.empty()) continue;
    const bool baseline = r.smoothing == "none";
    std::set<std::string> chains;
    for (const Run* run : Completed(r)) {
      for (const DepthChain& c : run->depth) {
        if (!c.cka.empty()) chains.insert(c.name);
      }
    }
    for (const std::string& chain : chains) {
      std::vector<std::pair<std::string, std::vector<std::vector<double>>>> panels;
      if (baseline) {
        // The baseline gets a figure of its own only when no smoothed row pairs with it.
        bool paired = false;
        for (const Row& other : summary.rows) {
          if (&other != &r && other.baseline >= 0 && &summary.rows[other.baseline] == &r &&
              !MeanCka(other, chain, warnings).empty()) {
            paired = true;
          }
        }
        if (paired) continue;
      } else if (r.baseline >= 0) {
        std::vector<std::vector<double>> base = MeanCka(summary.rows[r.baseline], chain, warnings);
        if (!base.empty()) panels.push_back({ArmLabel(summary.rows[r.baseline]), std::move(base)});
      }
      panels.push_back({ArmLabel(r), MeanCka(r, chain, warnings)});
      Spec s;
      s.name = Sanitize(absl::StrCat("depth_cka_", r.task, "_", r.preset, "_", r.optimizer, "_",
                                     chain, baseline ? "" : "_", baseline ? "" : r.smoothing));
      s.title = absl::StrCat(r.task, " (", r.preset, "), chain ", chain,
                             ": linear CKA between block outputs, mean over seeds");
      s.width = 480 * static_cast<int>(panels.size()) + 120;
      s.height = 480;
      absl::StrAppend(&s.body, "set multiplot layout 1,", panels.size(), " title ",
                      Quoted(absl::StrCat(r.task, " (", r.preset, "), ", chain,
                                          ": CKA between blocks")),
                      "\nset cbrange [0:1]\nset palette rgbformulae 33,13,10\n",
                      "set size ratio -1\nset xlabel \"block\"\nset ylabel \"block\"\n");
      for (size_t p = 0; p < panels.size(); ++p) {
        const auto& [label, matrix] = panels[p];
        const double L = static_cast<double>(matrix.size());
        absl::StrAppend(&s.data, p ? "\n\n" : "", "# ", label, ": row col cka\n");
        for (size_t i = 0; i < matrix.size(); ++i) {
          for (size_t j = 0; j < matrix.size(); ++j) {
            absl::StrAppend(&s.data, i, " ", j, " ", Num(matrix[i][j]), "\n");
          }
        }
        // Block 0 at the top left, as the matrix is written.
        absl::StrAppend(&s.body, "set title ", Quoted(label), "\nset xrange [-0.5:", Num(L - 0.5),
                        "]\nset yrange [", Num(L - 0.5), ":-0.5]\n",
                        matrix.size() <= 16 ? "set xtics 1\nset ytics 1\n" : "", "plot '", s.name,
                        ".dat' index ", p, " using 2:1:3 with image notitle\n");
      }
      s.body += "unset multiplot\n";
      specs->push_back(std::move(s));
    }
  }
}

// Per task and preset with tuned arms: the selection metric at the end of training against
// lr_scale (log axis), mean over the tuning seeds, one line per arm (and per setting of
// its swept smoothing options); diverged candidates are left out, the chosen ones circled.
void SweepSpecs(const TunedSummary& tuned, std::vector<Spec>* specs) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const TunedRow& t : tuned.rows) {
    if (std::find(keys.begin(), keys.end(), std::make_pair(t.task, t.preset)) == keys.end()) {
      keys.push_back({t.task, t.preset});
    }
  }
  for (const auto& [task, preset] : keys) {
    Spec s;
    s.name = Sanitize(absl::StrCat("sweep_", task, "_", preset));
    std::string metric, plots, chosen;
    int index = 0;
    for (const TunedRow& t : tuned.rows) {
      if (t.task != task || t.preset != preset) continue;
      if (metric.empty()) metric = t.selection_metric;
      std::vector<std::map<std::string, std::string>> settings;  // of the swept options
      for (const TunedCandidate& c : t.candidates) {
        if (std::find(settings.begin(), settings.end(), c.options) == settings.end()) {
          settings.push_back(c.options);
        }
      }
      for (const auto& setting : settings) {
        std::string label = ArmTitle(t);
        for (const auto& [k, v] : setting) absl::StrAppend(&label, " ", k, "=", v);
        std::string block, left_out;
        for (const TunedCandidate& c : t.candidates) {
          if (c.options != setting) continue;
          if (c.value) {
            absl::StrAppend(&block, Num(c.lr_scale), " ", Num(*c.value), "\n");
          } else {
            absl::StrAppend(&left_out, "# lr_scale ", Num(c.lr_scale), ": ", c.excluded, "\n");
          }
        }
        if (block.empty()) {  // no point to draw: a comment only, so indices stay aligned
          absl::StrAppend(&s.data, "# ", label, ": no candidate to draw\n", left_out);
          continue;
        }
        absl::StrAppend(&s.data, index ? "\n\n" : "", "# ", label, "\n# lr_scale ", metric, "\n",
                        block, left_out);
        absl::StrAppend(&plots, plots.empty() ? "plot " : ", \\\n     ", "'", s.name,
                        ".dat' index ", index, " using 1:2 with linespoints lw 2 pt 7 lc ",
                        index + 1, " title ", Quoted(label));
        ++index;
      }
      if (t.chosen >= 0 && t.candidates[t.chosen].value) {
        absl::StrAppend(&chosen, Num(t.candidates[t.chosen].lr_scale), " ",
                        Num(*t.candidates[t.chosen].value), "\n");
      }
    }
    if (index == 0) continue;
    if (!chosen.empty()) {
      absl::StrAppend(&s.data, "\n\n# chosen\n# lr_scale ", metric, "\n", chosen);
      absl::StrAppend(&plots, ", \\\n     '", s.name, ".dat' index ", index,
                      " using 1:2 with points pt 6 ps 3 lc rgb \"black\" title \"chosen\"");
    }
    s.title = absl::StrCat(task, " (", preset, "): ", metric,
                           " at the end of training against lr_scale, mean over the tuning seeds");
    s.body = absl::StrCat("set title ", Quoted(absl::StrCat(task, " (", preset, "): tuning sweep")),
                          "\nset xlabel \"lr_scale (x the preset's learning rate)\"\nset ylabel ",
                          Quoted(metric), "\nset logscale x 2\nset grid\nset key below\n",
                          "set offsets graph 0.05, graph 0.05, 0, 0\n", plots, "\n");
    specs->push_back(std::move(s));
  }
}

}  // namespace

std::string FindGnuplot() {
  if (const char* path = std::getenv("PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      const std::string candidate = absl::StrCat(dir, "/gnuplot");
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return access("/usr/bin/gnuplot", X_OK) == 0 ? "/usr/bin/gnuplot" : "";
}

absl::StatusOr<FigureSet> WriteFigures(const Summary& summary, const std::string& out_dir,
                                       const std::string& gnuplot, const TunedSummary& tuned) {
  FigureSet set;
  std::vector<Spec> specs;
  SweepSpecs(tuned, &specs);
  CurveSpecs(summary, &specs);
  AlphaSpecs(summary, &specs);
  DepthSpecs(summary, &specs, &set.warnings);
  const std::string dir = out_dir + "/figures";
  std::error_code error;
  std::set<std::string> written;
  // Images, data and scripts of an earlier report that this one does not have go, so
  // the folder always matches index.md; other files are left alone.
  auto remove_stale = [&] {
    if (!fs::is_directory(dir, error)) return;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      const std::string name = entry.path().filename().string();
      const std::string ext = entry.path().extension().string();
      const bool ours = (absl::StartsWith(name, "curve_") || absl::StartsWith(name, "alpha_") ||
                         absl::StartsWith(name, "depth_cka_") ||
                         absl::StartsWith(name, "sweep_")) &&
                        (ext == ".png" || ext == ".svg" || ext == ".dat" || ext == ".gp");
      if (ours && !written.count(name)) stale.push_back(entry.path());
    }
    for (const fs::path& path : stale) fs::remove(path, error);
  };
  if (specs.empty()) {
    remove_stale();
    return set;
  }
  fs::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  if (gnuplot.empty()) {
    set.warnings.push_back(
        "gnuplot not found (install Debian's gnuplot-nox): no PNG/SVG images were drawn; "
        "each figure's data and gnuplot script are in figures/");
  }
  for (const Spec& s : specs) {
    Figure f;
    f.title = s.title;
    f.png = "figures/" + s.name + ".png";
    f.svg = "figures/" + s.name + ".svg";
    f.data = "figures/" + s.name + ".dat";
    f.script = "figures/" + s.name + ".gp";
    if (absl::Status st = WriteFileAtomic(out_dir + "/" + f.data, s.data); !st.ok()) return st;
    if (absl::Status st = WriteFileAtomic(out_dir + "/" + f.script, Script(s)); !st.ok()) return st;
    written.insert(s.name + ".dat");
    written.insert(s.name + ".gp");
    if (!gnuplot.empty()) {
      const std::string problem = Draw(gnuplot, dir, s.name);
      if (problem.empty()) {
        f.drawn = true;
        written.insert(s.name + ".png");
        written.insert(s.name + ".svg");
      } else {
        set.warnings.push_back(absl::StrCat(f.script, ": ", problem));
      }
    }
    set.figures.push_back(std::move(f));
  }
  remove_stale();
  return set;
}

}  // namespace gs::reports
