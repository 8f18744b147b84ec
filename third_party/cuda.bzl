"""cuda_library: .cu files compiled by the CUDA Toolkit's nvcc into a cc_library.

Bazel 4.2.3 offline has no rules_cuda; this is a genrule per source over the toolkit
that @cuda (third_party/repositories.bzl) found. The flags keep the GPU's arithmetic
the CPU's: -fmad=false (no a * b + c contracted into an FMA; the CPU kernels build with
-ffp-contract=off), IEEE division and square root (nvcc's defaults).
"""

load("@cuda//:defs.bzl", "CUDA_ROOT", "NVCC_VERSION")
load("@rules_cc//cc:defs.bzl", "cc_library")

# SASS for Turing to Hopper, and PTX for later GPUs to compile at load time.
CUDA_ARCHS = ["75", "80", "86", "90"]

NVCC_FLAGS = [
    "-std=c++17",
    "-O3",
    "-fmad=false",
    "-Xcompiler=-fPIC",
    "-Xcompiler=-fno-math-errno",
    "-I.",
] + ["-gencode=arch=compute_%s,code=sm_%s" % (a, a) for a in CUDA_ARCHS] + [
    "-gencode=arch=compute_%s,code=compute_%s" % (CUDA_ARCHS[-1], CUDA_ARCHS[-1]),
]

def cuda_library(name, srcs, hdrs = [], textual = [], deps = [], **kwargs):
    """One object per .cu file; `hdrs` are its own headers, `textual` the other header
    files nvcc reads (a genrule sees only the files it names), `deps` cc_libraries."""
    objects = []
    for src in srcs:
        obj = "_%s/%s.o" % (name, src.replace(".cu", ""))
        if CUDA_ROOT:
            # The toolkit's version in the command: a new nvcc is a new cache key.
            cmd = "%s/bin/nvcc %s -c $(location %s) -o $@  # %s" % (
                CUDA_ROOT,
                " ".join(NVCC_FLAGS),
                src,
                NVCC_VERSION,
            )
        else:
            cmd = "echo 'error: no CUDA Toolkit (nvcc) in $$CUDA_PATH or /usr/local/cuda: %s needs one' >&2; exit 1" % src
        native.genrule(
            name = "_%s_%s_nvcc" % (name, src.replace("/", "_").replace(".", "_")),
            srcs = [src] + hdrs + textual,
            outs = [obj],
            cmd = cmd,
            message = "nvcc " + src,
        )
        objects.append(obj)
    cc_library(
        name = name,
        srcs = objects,
        hdrs = hdrs,
        deps = deps + ["@cuda//:cudart"],
        # Static only: the objects and the static CUDA runtime land in one binary (a
        # shared library of them would not see the runtime's symbols).
        linkstatic = True,
        **kwargs
    )
