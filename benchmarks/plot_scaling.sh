#!/usr/bin/env bash
# Plots //benchmarks:scaling_benchmark's JSON output (time per step vs parameter count,
# log-log, with a linear reference) as PNG and SVG, and checks linearity by least
# squares: for each series, the slope of log(time) against log(params) (1 = linear) and
# the spread of time per parameter.
#
#   bazel run //benchmarks:scaling_benchmark -- --benchmark_format=json --benchmark_out=$PWD/scaling.json
#   benchmarks/plot_scaling.sh scaling.json results/scaling
#
# Writes <out>/scaling.png, <out>/scaling.svg, <out>/scaling.tsv and <out>/linearity.md,
# and prints the linearity table. A series counts as linear when its slope lies in
# [1 - BAND, 1 + BAND] (BAND defaults to 0.1; set the environment variable to change it).
# Exit codes: 0 done, 2 bad input, 1 a tool failed. Needs jq and gnuplot (cairo terminals).
set -euo pipefail

die() { echo "error: $2" >&2; exit "$1"; }

[[ $# -ge 1 && $# -le 2 ]] || die 2 "usage: plot_scaling.sh <scaling_benchmark.json> [out_dir (default results/scaling)]"
# Under `bazel run`, paths are the user's: resolve them in the workspace.
if [[ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]]; then cd "$BUILD_WORKSPACE_DIRECTORY"; fi
json=$1
out=${2:-results/scaling}
band=${BAND:-0.1}
command -v jq >/dev/null || die 1 "jq is not installed (Debian package jq)"
command -v gnuplot >/dev/null || die 1 "gnuplot is not installed (Debian package gnuplot-nox)"
[[ -r "$json" ]] || die 2 "$json: cannot read it"
jq -e '.benchmarks | type == "array"' "$json" >/dev/null 2>&1 ||
  die 2 "$json: not Google Benchmark JSON (run with --benchmark_format=json or --benchmark_out=<file>)"
mkdir -p "$out" || die 2 "$out: cannot create it"

# One row per measurement: series, depth, width, params, seconds per step. With
# --benchmark_repetitions the medians are used.
jq -r '
  (.benchmarks | any(.aggregate_name? == "median")) as $agg
  | .benchmarks[]
  | select(if $agg then .aggregate_name? == "median" else .run_type == "iteration" end)
  | select((.error_occurred // false) | not)
  | select(.params != null)
  | [(.run_name | split("/")[0] | ltrimstr("BM_")), .depth, .width, .params,
     (.real_time * ({"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[.time_unit]))]
  | @tsv' "$json" | sort -k1,1 -k4,4g > "$out/scaling.tsv.tmp"
mv "$out/scaling.tsv.tmp" "$out/scaling.tsv"
[[ -s "$out/scaling.tsv" ]] || die 2 "$json: no scaling_benchmark results with a params counter"

# Least squares of log(seconds) on log(params) per series.
awk -F'\t' -v band="$band" '
  {
    s = $1; x = log($4); y = log($5); r = $5 / $4 * 1e9
    n[s]++; sx[s] += x; sy[s] += y; sxx[s] += x * x; sxy[s] += x * y; syy[s] += y * y
    if (!(s in lo) || r < lo[s]) lo[s] = r
    if (!(s in hi) || r > hi[s]) hi[s] = r
    if (!(s in seen)) { seen[s] = 1; order[++k] = s }
  }
  END {
    print "| series | points | slope of log time vs log params | R^2 | ns per parameter, min - max | max / min | linear (slope in [" 1 - band ", " 1 + band "]) |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= k; i++) {
      s = order[i]
      dx = n[s] * sxx[s] - sx[s] * sx[s]
      if (n[s] < 2 || dx == 0) { printf "| %s | %d | - | - | %.4f - %.4f | - | too few sizes |\n", s, n[s], lo[s], hi[s]; continue }
      b = (n[s] * sxy[s] - sx[s] * sy[s]) / dx
      a = (sy[s] - b * sx[s]) / n[s]
      dy = n[s] * syy[s] - sy[s] * sy[s]
      r2 = dy == 0 ? 1 : (n[s] * sxy[s] - sx[s] * sy[s]) ^ 2 / (dx * dy)
      printf "| %s | %d | %.3f | %.4f | %.4f - %.4f | %.2f | %s |\n", s, n[s], b, r2, lo[s], hi[s], hi[s] / lo[s], (b >= 1 - band && b <= 1 + band) ? "yes" : "no"
      printf "%s\t%.17g\t%.17g\n", s, a, b > "/dev/stderr"
    }
  }' "$out/scaling.tsv" > "$out/linearity.md" 2> "$out/fits.tsv"

# Plots: points per series, its fitted power law (dashed), and a linear reference
# (time proportional to params) through the first series' geometric mean.
plot=""
i=0
while IFS=$'\t' read -r series a b; do
  i=$((i + 1))
  awk -F'\t' -v s="$series" '$1 == s { print $4 "\t" $5 }' "$out/scaling.tsv" > "$out/series_$series.dat"
  plot+="'$out/series_$series.dat' using 1:2 with points pt 7 lc $i title '$series', "
  plot+="exp($a) * x**$b with lines dt 2 lc $i title sprintf('$series fit: slope %.2f', $b), "
  if [[ $i -eq 1 ]]; then
    ref=$(awk -F'\t' -v s="$series" '$1 == s { m += log($5 / $4); n++ } END { printf "%.17g", m / n }' "$out/scaling.tsv")
    plot+="exp($ref) * x with lines lw 2 lc rgb 'gray' title 'linear reference (slope 1)', "
  fi
done < "$out/fits.tsv"
[[ -n "$plot" ]] || die 2 "$json: fewer than two sizes per series; nothing to fit"
for terminal in "pngcairo size 1100,600" "svg size 1100,600"; do
  ext=${terminal%% *}; ext=${ext#png}; ext=${ext/cairo/png}
  gnuplot <<GNUPLOT || die 1 "gnuplot failed"
set terminal $terminal
set output '$out/scaling.$ext'
set title 'Optimizer step and smoothing time vs parameter count (1 thread)'
set logscale xy
set xlabel 'parameters'
set ylabel 'seconds per step'
set key outside right top
set grid
set format x '%.0e'
set termoption noenhanced
plot ${plot%, }
GNUPLOT
done
context=$(jq -r '.context // {} | "BLAS kernels: \(.blas_kernels // "unknown"), optimizer kernels: \(.optimizer_kernels // "unknown"), host: \(.host_name // "unknown"), date: \(.date // "unknown")"' "$json")
{ echo "$context"; echo; cat "$out/linearity.md"; } > "$out/linearity.md.tmp" && mv "$out/linearity.md.tmp" "$out/linearity.md"
cat "$out/linearity.md"
echo "wrote $out/scaling.png, $out/scaling.svg, $out/scaling.tsv, $out/linearity.md"
