#!/usr/bin/env bash
# A transform defined in one file (causal_window.cc) trains by name, is named by a grid,
# and gets report rows of its own, with nothing in tasks/, benchmarks/ or reports/ naming it.
set -euo pipefail
root="$TEST_SRCDIR/gradient_smoothing"
bin="$root/tests/extension/lm_pretrain"
suite="$root/benchmarks/suite"
tmp="$TEST_TMPDIR"
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The binary lists it with its options, and trains with it.
"$bin" --list_optimizers >"$tmp/list.txt"
grep -q "^  causal$" "$tmp/list.txt" || fail "--list_optimizers does not list causal"
grep -q "beta .*a number in \[0, 1\], default 0.2" "$tmp/list.txt" || fail "causal's beta is not described"
"$bin" --preset=smoke --steps=10 --smoothing=causal --smoothing_options=beta=0.3 --out="$tmp/run" >"$tmp/run.log" 2>&1 \
  || { cat "$tmp/run.log"; fail "training with --smoothing=causal failed"; }
python3 - "$tmp/run/run.json" <<'PY' || fail "run.json does not record the causal transform"
import json, sys
run = json.load(open(sys.argv[1]))
s = run["smoothing"]
assert run["status"] == "completed", run["status"]
assert s["name"] == "causal" and s["tag"] == "causal-b0.3" and s["strength"] == "beta", s
assert s["options"]["beta"] == 0.3 and s["options"]["variant"] == "standard", s
PY
# Out of range: exit 2, naming the option.
set +e
"$bin" --preset=smoke --smoothing=causal --smoothing_options=beta=2 --out="$tmp/bad" 2>"$tmp/bad.log"
code=$?
set -e
[ "$code" -eq 2 ] || fail "beta=2 exited $code, expected 2"
grep -q "option beta=2 is not allowed; use a number in \[0, 1\]" "$tmp/bad.log" || fail "beta=2: $(cat "$tmp/bad.log")"

# 2. A grid names it; the suite runs it from --tasks_dir and reports it.
cat >"$tmp/grid.json" <<'JSON'
{"description": "a transform from outside optimizers/",
 "experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
   "smoothing": [{"smoothing": "none"}, {"smoothing": "causal", "beta": 0.3},
                 {"smoothing": "window", "alpha": 0.2}],
   "seeds": [0], "flags": {"steps": 10}}]}
JSON
(cd "$root" && "$suite" --grid="$tmp/grid.json" --results="$tmp/results" --jobs=2 \
   --tasks_dir="$root/tests/extension") >"$tmp/suite.log" 2>&1 || { cat "$tmp/suite.log"; fail "the suite failed"; }
[ -f "$tmp/results/lm_pretrain/smoke/adamw-causal-b0.3-steps10/seed0/run.json" ] || { cat "$tmp/suite.log"; ls -R "$tmp/results" | head -30; fail "no causal run directory"; }
grep -q "^lm_pretrain,smoke,adamw,causal-b0.3,test_loss,min,1," "$tmp/results/report/summary.csv" \
  || { cat "$tmp/results/report/summary.csv"; fail "summary.csv has no causal row"; }
grep -q "| causal beta=0.3 |" "$tmp/results/report/tables.md" || fail "tables.md has no causal row"
grep -q "Depth-transform family" "$tmp/results/report/tables.md" || fail "no family table"
# The suite's own binaries do not know it: the same grid is refused there, before any run.
set +e
(cd "$root" && "$suite" --grid="$tmp/grid.json" --results="$tmp/other") >"$tmp/own.log" 2>&1
code=$?
set -e
[ "$code" -eq 2 ] || fail "the suite's own tasks accepted causal (exit $code)"
grep -q "unknown smoothing 'causal'" "$tmp/own.log" || fail "$(cat "$tmp/own.log")"
echo "custom transform: trained, gridded and reported"
