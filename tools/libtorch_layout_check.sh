#!/usr/bin/env bash
# Checks the GS_LIBTORCH switch (third_party/repositories.bzl) on a machine with
# Debian's libtorch-dev: lays Debian's LibTorch out as a pip torch's torch/ folder
# (include/, lib/, share/cmake/Torch/, all symlinks), runs
#   GS_LIBTORCH=<that folder> bazel test <targets>     (default //tests/optimizers/...)
# in a separate output base (the workspace's own build stays as it is), then proves the
# build used that folder: the test binaries load libtorch from its lib/ and their
# objects include torch.h through its include/, not through /usr/include.
# Usage: tools/libtorch_layout_check.sh [bazel targets...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(//tests/optimizers/...)
say() { printf 'libtorch_layout_check: %s\n' "$*"; }
die() { printf 'libtorch_layout_check: error: %s\n' "$*" >&2; exit 1; }

libdir=/usr/lib/x86_64-linux-gnu
[ -f /usr/include/torch/csrc/api/include/torch/torch.h ] || die "Debian's libtorch-dev is not installed"

work=$(mktemp -d /tmp/libtorch_layout.XXXXXX)
torch="$work/site-packages/torch"
mkdir -p "$torch/include" "$torch/lib" "$torch/share/cmake"
for d in ATen c10 caffe2 torch; do ln -s "/usr/include/$d" "$torch/include/$d"; done
for f in "$libdir"/libtorch*.so* "$libdir"/libc10*.so* "$libdir"/libshm*.so*; do
  ln -s "$f" "$torch/lib/$(basename "$f")"
done
ln -s "$libdir/cmake/Torch" "$torch/share/cmake/Torch"
say "pip-layout LibTorch in $torch"

cd "$root"
output_base="$work/output_base"
start=$(date +%s)
GS_LIBTORCH="$torch" bazel --output_base="$output_base" test "${targets[@]}"
say "bazel test passed in $(( $(date +%s) - start )) s"

# Every test binary resolves libtorch.so (Debian's soname: libtorch.so.1.13) in $torch/lib.
bin=$(GS_LIBTORCH="$torch" bazel --output_base="$output_base" info bazel-bin 2>/dev/null)
checked=0
while IFS= read -r test; do
  exe="$bin/${test#//}"; exe="${exe/://}"
  [ -x "$exe" ] || continue
  loaded=$(ldd "$exe" | awk '$1 ~ /^libtorch\.so/ {print $3}')
  case "$loaded" in
    "$torch/lib/"*) checked=$((checked + 1)) ;;
    *) die "$exe loads libtorch from '$loaded', not from $torch/lib" ;;
  esac
done < <(GS_LIBTORCH="$torch" bazel --output_base="$output_base" query "tests($(IFS=+; echo "${targets[*]}"))" 2>/dev/null)
[ "$checked" -gt 0 ] || die "no test binary found to check"
say "$checked test binaries load libtorch from $torch/lib"

# The compiler's dependency files name the header paths it opened.
mapfile -t deps < <(find -L "$bin" -name '*.d' -path '*_objs*')
[ ${#deps[@]} -gt 0 ] || die "no dependency files under $bin"
count() { grep -l "$1" "${deps[@]}" | wc -l || true; }
via_folder=$(count 'external/system/libtorch/include/torch/csrc/api/include/torch/torch.h')
via_debian=$(count '/usr/include/\(torch\|ATen\|c10\)/')
[ "$via_folder" -gt 0 ] || die "no object includes torch.h through GS_LIBTORCH's include/"
[ "$via_debian" -eq 0 ] || die "$via_debian objects include LibTorch headers from /usr/include"
say "$via_folder objects include torch.h through GS_LIBTORCH's include/, none through /usr/include"

GS_LIBTORCH="$torch" bazel --output_base="$output_base" shutdown >/dev/null 2>&1 || true
chmod -R u+w "$work" && rm -rf "$work"
say "passed"
