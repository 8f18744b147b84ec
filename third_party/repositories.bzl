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
    }, executable = False)

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    attrs = {"build_template": attr.label(allow_single_file = True)},
    local = True,
)
