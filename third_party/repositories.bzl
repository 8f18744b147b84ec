"""Repository rules that make the suite build offline over Debian's packages.

See docs/DESIGN.md, "Build toolchain": Bazel 4.2.3 cannot load Debian's rules_cc 0.0.4 as is,
`bazel test` wants a coverage-tools repository it would otherwise download, and the
system libraries (LibTorch, Abseil, ...) need Bazel targets.
"""

_RULES_CC = "/usr/share/bazel/rules/cc"
_PATCHED = [
    "cc/private/rules_impl/compiler_flag.bzl",
    "cc/private/rules_impl/cc_flags_supplier.bzl",
]

def _debian_rules_cc_impl(ctx):
    if not ctx.path(_RULES_CC).exists:
        fail("%s not found: install Debian's bazel-rules-cc (tools/bootstrap.sh)" % _RULES_CC)
    result = ctx.execute(["cp", "-r", _RULES_CC + "/.", "."])
    if result.return_code != 0:
        fail("copying %s failed: %s" % (_RULES_CC, result.stderr))

    # rules_cc 0.0.4 loads use_cpp_toolchain from @bazel_tools, which 4.2.3 lacks.
    for f in _PATCHED:
        text = ctx.read(f)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        ctx.file(f, text, executable = False)

debian_rules_cc = repository_rule(implementation = _debian_rules_cc_impl, local = True)

def _local_coverage_tools_impl(ctx):
    ctx.file("WORKSPACE", "")
    ctx.file("BUILD", """package(default_visibility = ["//visibility:public"])

# Placeholders: `bazel test` needs these labels to exist; coverage is unavailable offline.
filegroup(name = "coverage_report_generator")
filegroup(name = "lcov_merger")
""")

local_coverage_tools = repository_rule(implementation = _local_coverage_tools_impl)

# Abseil libraries the suite uses, resolved through pkg-config to the shared libraries
# Debian ships (each pulls in the rest of its closure).
_ABSL_PKGS = [
    "absl_flags",
    "absl_flags_parse",
    "absl_flags_usage",
    "absl_status",
    "absl_statusor",
    "absl_strings",
    "absl_str_format",
    "absl_time",
    "absl_flat_hash_map",
    "absl_hash",
    "absl_random_random",
]

_TORCH_LIBS = ["-ltorch", "-ltorch_cpu", "-lc10", "-lpthread"]

def _libtorch(ctx):
    """The LibTorch to build against: $GS_LIBTORCH (a LibTorch archive's folder or a pip
    torch's torch/ folder, each with include/ and lib/), else Debian's libtorch-dev.

    Returns the BUILD text of the target torch. A given LibTorch's
    headers are symlinked into this repository and passed with -isystem ahead of
    .bazelrc's (Bazel puts a target's include paths before --cxxopt), and the compiler
    searches both before /usr/include: they win over Debian's headers if both exist.
    """
    root = ctx.os.environ.get("GS_LIBTORCH", "")
    if root == "":
        # Headers from /usr/include and .bazelrc's -isystem for the C++ API.
        return _torch_targets(
            includes = [],
            linkopts = _TORCH_LIBS,
            cuda = False,
            description = "Debian libtorch-dev",
        )
    root = str(ctx.path(root).realpath)
    for sub in ["include/torch/csrc/api/include/torch/torch.h", "include/ATen/ATen.h", "lib"]:
        if not ctx.path(root + "/" + sub).exists:
            fail("GS_LIBTORCH=%s has no %s: give a LibTorch folder with include/ and lib/ (for a pip torch, its torch/ folder)" % (root, sub))
    config = ctx.path(root + "/share/cmake/Torch/TorchConfig.cmake")
    if config.exists and "_GLIBCXX_USE_CXX11_ABI=0" in ctx.read(config):
        fail(("GS_LIBTORCH=%s is built with the pre-C++11 string ABI (_GLIBCXX_USE_CXX11_ABI=0), " +
              "which cannot link with Debian's Abseil and GoogleTest: use a cxx11-ABI LibTorch " +
              "archive, or tools/gpu_check.sh, which builds without them") % root)
    ctx.symlink(root + "/include", "libtorch/include")
    lib = root + "/lib"
    linkopts = ["-L" + lib, "-Wl,-rpath," + lib]
    cuda = ctx.path(lib + "/libtorch_cuda.so").exists
    if cuda:
        # Nothing references torch_cuda's symbols directly, yet loading it registers the
        # CUDA backend: keep it even under --as-needed.
        linkopts += ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"]
    return _torch_targets(
        includes = ["libtorch/include", "libtorch/include/torch/csrc/api/include"],
        linkopts = linkopts + _TORCH_LIBS,
        cuda = cuda,
        description = root,
    )

def _torch_targets(includes, linkopts, cuda, description):
    hdrs = ('"%s/**"' % includes[0]) if includes else ""
    return """
# LibTorch: {description}.
cc_library(
    name = "torch",
    hdrs = glob([{hdrs}]),
    includes = {includes},
    linkopts = {linkopts},
)
""".format(description = description + (" (with CUDA)" if cuda else ""), hdrs = hdrs,
           includes = repr(includes), linkopts = repr(linkopts))

def _system_libraries_impl(ctx):
    pkg_config = ctx.which("pkg-config")
    if pkg_config == None:
        fail("pkg-config not found: run tools/bootstrap.sh")
    result = ctx.execute([pkg_config, "--libs"] + _ABSL_PKGS)
    if result.return_code != 0:
        fail("pkg-config cannot find Abseil (%s): install libabsl-dev (tools/bootstrap.sh)" % result.stderr.strip())
    absl_libs = result.stdout.strip().split(" ")
    ctx.file("WORKSPACE", "")
    ctx.template("BUILD", ctx.attr.build_template, {
        "%{absl_linkopts}": repr(absl_libs),
        "%{torch}": _libtorch(ctx),
    }, executable = False)

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    attrs = {"build_template": attr.label(allow_single_file = True)},
    environ = ["GS_LIBTORCH"],
    local = True,
)

def _local_cuda_impl(ctx):
    """The CUDA Toolkit for our nvcc rule (third_party/cuda.bzl): $CUDA_PATH, else
    /usr/local/cuda. Without one, the targets that need nvcc fail with a message."""
    root = ctx.os.environ.get("CUDA_PATH", "/usr/local/cuda")
    nvcc = ctx.path(root + "/bin/nvcc")
    version = ""
    if nvcc.exists:
        result = ctx.execute([nvcc, "--version"])
        if result.return_code == 0:
            version = result.stdout.strip().split("\n")[-1]
    ctx.file("WORKSPACE", "")
    ctx.file("defs.bzl", "\n".join([
        "# Written by third_party/repositories.bzl: the CUDA Toolkit found.",
        "CUDA_ROOT = %r" % (str(ctx.path(root).realpath) if version else ""),
        "NVCC_VERSION = %r" % version,
        "",
    ]))
    lib = str(ctx.path(root).realpath) + "/lib64" if version else ""
    ctx.file("BUILD", """package(default_visibility = ["//visibility:public"])

exports_files(["defs.bzl"])

# The CUDA runtime, linked statically (the driver, libcuda.so, is loaded at run time).
cc_library(
    name = "cudart",
    linkopts = {linkopts},
)
""".format(linkopts = repr(["-L" + lib, "-lcudart_static", "-ldl", "-lrt", "-lpthread"] if lib else [])))

local_cuda = repository_rule(
    implementation = _local_cuda_impl,
    environ = ["CUDA_PATH"],
    local = True,
)
