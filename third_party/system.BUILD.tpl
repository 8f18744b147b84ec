# Bazel targets over Debian's system packages (see tools/bootstrap.sh for the list).
# Headers live under /usr/include, the compiler's own search path (LibTorch's C++ API
# with .bazelrc's -isystem), except those of a LibTorch given by GS_LIBTORCH
# (third_party/repositories.bzl).
load("@rules_cc//cc:defs.bzl", "cc_library")

package(default_visibility = ["//visibility:public"])

%{torch}
# LibTorch with the c10d Gloo process group (libgloo-dev headers).
cc_library(
    name = "torch_gloo",
    defines = ["USE_C10D_GLOO"],
    deps = [":torch"],
)

# Abseil shared libraries, libabsl-dev (linkopts from pkg-config).
cc_library(
    name = "absl",
    linkopts = %{absl_linkopts},
)

cc_library(
    name = "gtest",
    linkopts = ["-lgtest", "-lpthread"],
)

# GoogleTest with GoogleMock's matchers, and its main().
cc_library(
    name = "gtest_main",
    linkopts = ["-lgmock", "-lgtest_main", "-lgtest", "-lpthread"],
)

cc_library(
    name = "benchmark",
    linkopts = ["-lbenchmark", "-lpthread"],
)

cc_library(
    name = "benchmark_main",
    linkopts = ["-lbenchmark_main", "-lbenchmark", "-lpthread"],
)

# nlohmann-json3-dev: header only.
cc_library(name = "json")

cc_library(
    name = "zlib",
    linkopts = ["-lz"],
)

cc_library(
    name = "png",
    linkopts = ["-lpng16"],
)

# The system BLAS behind LibTorch (tools/bootstrap.sh makes it OpenBLAS), for the
# symmetric routines ATen does not expose. Linked by soname: no -dev symlink needed.
cc_library(
    name = "blas",
    linkopts = ["-l:libblas.so.3"],
)
