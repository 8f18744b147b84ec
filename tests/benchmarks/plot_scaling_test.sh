#!/usr/bin/env bash
# benchmarks/plot_scaling.sh on Google Benchmark JSON with known power laws (the fitted
# slopes must come out as the exponents), on medians of repetitions, on bad input, and
# end to end on a small real run of //benchmarks:scaling_benchmark.
set -euo pipefail

root="$TEST_SRCDIR/gradient_smoothing"
plot="$root/benchmarks/plot_scaling.sh"
bench="$root/benchmarks/scaling_benchmark"
tmp="$TEST_TMPDIR"
fail() { echo "FAIL: $*" >&2; exit 1; }

# t = 2e-9 s * P (linear), t = 1e-12 s * P^1.5 (not); real_time in ms.
cat > "$tmp/synthetic.json" <<'JSON'
{"context": {}, "benchmarks": [
 {"name": "BM_Linear/depth:6/width:1/real_time", "run_name": "BM_Linear/depth:6/width:1/real_time", "run_type": "iteration", "real_time": 2.0, "time_unit": "ms", "params": 1000000, "depth": 6, "width": 1},
 {"name": "BM_Linear/depth:24/width:1/real_time", "run_name": "BM_Linear/depth:24/width:1/real_time", "run_type": "iteration", "real_time": 8.0, "time_unit": "ms", "params": 4000000, "depth": 24, "width": 1},
 {"name": "BM_Linear/depth:96/width:1/real_time", "run_name": "BM_Linear/depth:96/width:1/real_time", "run_type": "iteration", "real_time": 32.0, "time_unit": "ms", "params": 16000000, "depth": 96, "width": 1},
 {"name": "BM_Super/depth:6/width:1/real_time", "run_name": "BM_Super/depth:6/width:1/real_time", "run_type": "iteration", "real_time": 1.0, "time_unit": "ms", "params": 1000000, "depth": 6, "width": 1},
 {"name": "BM_Super/depth:24/width:1/real_time", "run_name": "BM_Super/depth:24/width:1/real_time", "run_type": "iteration", "real_time": 8000, "time_unit": "us", "params": 4000000, "depth": 24, "width": 1},
 {"name": "BM_Super/depth:96/width:1/real_time", "run_name": "BM_Super/depth:96/width:1/real_time", "run_type": "iteration", "real_time": 0.064, "time_unit": "s", "params": 16000000, "depth": 96, "width": 1}
]}
JSON
out=$("$plot" "$tmp/synthetic.json" "$tmp/synthetic") || fail "plot_scaling.sh failed: $out"
echo "$out"
grep -q '^| Linear | 3 | 1.000 | 1.0000 | 2.0000 - 2.0000 | 1.00 | yes |$' <<<"$out" || fail "linear series"
grep -q '^| Super | 3 | 1.500 | 1.0000 | 1.0000 - 4.0000 | 4.00 | no |$' <<<"$out" || fail "P^1.5 series"
[[ "$(head -c 4 "$tmp/synthetic/scaling.png" | od -An -c | tr -d ' ')" == "211PNG" ]] || fail "no PNG"
grep -q '<svg' "$tmp/synthetic/scaling.svg" || fail "no SVG"

# With repetitions, the median aggregates are used, not the single runs.
cat > "$tmp/repeated.json" <<'JSON'
{"benchmarks": [
 {"run_name": "BM_A/depth:1/width:1/real_time", "run_type": "iteration", "real_time": 99, "time_unit": "ms", "params": 1000000},
 {"run_name": "BM_A/depth:1/width:1/real_time", "run_type": "aggregate", "aggregate_name": "mean", "real_time": 50, "time_unit": "ms", "params": 1000000},
 {"run_name": "BM_A/depth:1/width:1/real_time", "run_type": "aggregate", "aggregate_name": "median", "real_time": 1, "time_unit": "ms", "params": 1000000},
 {"run_name": "BM_A/depth:2/width:1/real_time", "run_type": "iteration", "real_time": 1, "time_unit": "ms", "params": 2000000},
 {"run_name": "BM_A/depth:2/width:1/real_time", "run_type": "aggregate", "aggregate_name": "median", "real_time": 2, "time_unit": "ms", "params": 2000000}
]}
JSON
out=$("$plot" "$tmp/repeated.json" "$tmp/repeated") || fail "repeated: $out"
grep -q '^| A | 2 | 1.000 |' <<<"$out" || fail "medians not used: $out"

# Bad input: exit 2 with a message naming the file.
set +e
msg=$("$plot" "$tmp/missing.json" "$tmp/x" 2>&1); code=$?
[[ $code -eq 2 && "$msg" == *missing.json* ]] || fail "missing file: $code $msg"
echo '{"not": "a benchmark"}' > "$tmp/other.json"
msg=$("$plot" "$tmp/other.json" "$tmp/x" 2>&1); code=$?
[[ $code -eq 2 && "$msg" == *"not Google Benchmark JSON"* ]] || fail "other JSON: $code $msg"
set -e

# End to end: two small sizes of the real benchmark.
"$bench" --benchmark_filter='/depth:6/width:256/|/depth:12/width:128/' --benchmark_min_time=0.001 \
  --benchmark_format=json --benchmark_out="$tmp/real.json" >/dev/null || fail "scaling_benchmark failed"
out=$("$plot" "$tmp/real.json" "$tmp/real") || fail "real: $out"
echo "$out"
for series in AdamW AdamWWindow Smoothing; do
  grep -q "^| $series | 2 | " <<<"$out" || fail "series $series missing"
done
echo PASS
