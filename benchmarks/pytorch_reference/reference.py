#!/usr/bin/python3
"""Eager PyTorch reference of the suite's GPT and ViT and of one AdamW training step.

The models follow tasks/models/transformer.cc, gpt.cc and vit.cc operation by operation:
pre-norm blocks (x + attn(norm1(x)), then + mlp(norm2(.))), one fused qkv Linear,
scores q k^T / sqrt(d) with a causal mask by masked_fill(-inf), softmax, exact (erf)
GELU, LayerNorm eps 1e-5, a byte GPT with learned positions and a head without bias, a
ViT with view/permute patches, a final norm and mean pooling. A training step is the
harness's (tasks/harness/trainer.cc): zero_grad, loss, loss.item(), backward,
clip_grad_norm_(clip), torch.optim.AdamW step with the learning rate times the
schedule's multiplier.

Everything comes from a dump written by //benchmarks:dump_reference or
//benchmarks:pytorch_comparison (see benchmarks/reference_dump.h): weights, batches,
learning-rate multipliers, AdamW settings; shapes are read from the weights.

  reference.py check --dump=DIR [--rtol=1e-5] [--grads_rtol=1e-5] [--weights_rtol=1e-3]
      replays the recorded steps and compares with the C++ ones: each step's loss, the
      first step's clipped gradients, and the weights after the steps (relative to their
      displacement; elements with rounding-level gradients may take AdamW's first +-lr
      step either way, hence the looser bound). Exit 1 if anything differs or the
      weights do not fit the model (names, shapes), 0 if all agree. Measured on the
      smoke presets: losses within 1e-7, gradients 3e-7, weights 2e-4; with tanh-GELU
      instead of erf-GELU the gradients differ by 2e-4 and the weights by 4e-3.
  reference.py time --dump=DIR --steps=N --warmup=W --threads=T [--out=FILE]
      times W + N steps (cycling through the dumped batches) and writes
      {"step_seconds": [the N timed steps], ...} as JSON to FILE or stdout.
  reference.py serve --dump=DIR --threads=T
      lockstep timing for a driver that alternates with it step by step: prints one JSON
      line describing itself, then for each line "step I" on stdin runs step I and
      prints its seconds; ends at "quit" or end of input.

Needs only PyTorch and numpy (Debian: python3-torch).
"""

import argparse
import ctypes
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, causal):
        b, t, c = x.shape
        d = c // self.heads
        # [B, T, 3, H, D] -> three [B, H, T, D]
        parts = self.qkv(x).view(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = parts[0], parts[1], parts[2]
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d)
        if causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        y = torch.matmul(torch.softmax(scores, -1), v)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Mlp(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.fc = nn.Linear(width, hidden)
        self.proj = nn.Linear(hidden, width)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, width, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-5)
        self.norm2 = nn.LayerNorm(width, eps=1e-5)
        self.attn = Attention(width, heads)
        self.mlp = Mlp(width, hidden)

    def forward(self, x, causal=False):
        h = x + self.attn(self.norm1(x), causal)
        return h + self.mlp(self.norm2(h))


class GPT(nn.Module):
    def __init__(self, vocab, context, width, depth, heads, hidden):
        super().__init__()
        self.tok_embed = nn.Embedding(vocab, width)
        self.pos_embed = nn.Parameter(torch.zeros(context, width))
        self.blocks = nn.ModuleList([Block(width, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(width, eps=1e-5)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, tokens):
        t = tokens.size(1)
        x = self.tok_embed(tokens) + self.pos_embed[:t]
        for block in self.blocks:
            x = block(x, causal=True)
        return self.head(self.norm(x))

    def loss(self, inputs, targets):
        logits = self.forward(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


class ViT(nn.Module):
    def __init__(self, channels, patch, tokens, width, depth, heads, hidden, classes):
        super().__init__()
        self.channels = channels
        self.patch = patch
        self.patch_embed = nn.Linear(channels * patch * patch, width)
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, width))
        self.blocks = nn.ModuleList([Block(width, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(width, eps=1e-5)
        self.head = nn.Linear(width, classes)

    def forward(self, images):
        b, p = images.size(0), self.patch
        g = images.size(-1) // p
        # [B, C, g, p, g, p] -> [B, g*g, C*p*p]: one token per patch.
        patches = (images.view(b, self.channels, g, p, g, p)
                   .permute(0, 2, 4, 1, 3, 5)
                   .reshape(b, g * g, self.channels * p * p))
        x = self.patch_embed(patches) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(1))

    def loss(self, inputs, targets):
        return F.cross_entropy(self.forward(inputs), targets)


DTYPES = {"float32": np.float32, "int64": np.int64}


class Dump:
    """A dump directory: index.json plus tensors.bin."""

    def __init__(self, directory):
        with open(os.path.join(directory, "index.json")) as f:
            self.index = json.load(f)
        if self.index.get("format") != "gs-reference-dump-1":
            raise SystemExit(f"{directory}/index.json: not a gs-reference-dump-1 dump")
        with open(os.path.join(directory, "tensors.bin"), "rb") as f:
            self.blob = f.read()

    def tensor(self, entry):
        dtype = DTYPES[entry["dtype"]]
        count = entry["bytes"] // np.dtype(dtype).itemsize
        array = np.frombuffer(self.blob, dtype=dtype, count=count, offset=entry["offset"])
        return torch.from_numpy(array.copy()).reshape(entry["shape"])

    def params(self, key="params"):
        return {e["name"]: self.tensor(e) for e in self.index[key]}

    def batches(self):
        return [(self.tensor(b["inputs"]), self.tensor(b["targets"])) for b in self.index["batches"]]


def build_model(dump):
    """The task's model, its sizes read from the dumped weights and description."""
    shapes = {e["name"]: e["shape"] for e in dump.index["params"]}
    described = dump.index["model"]
    task = dump.index["task"]
    depth = len({n.split(".")[1] for n in shapes if n.startswith("blocks.")})
    width = shapes["norm.weight"][0]
    hidden = shapes["blocks.0.mlp.fc.weight"][0]
    heads = described["heads"]
    if task == "lm_pretrain":
        vocab, _ = shapes["tok_embed.weight"]
        context, _ = shapes["pos_embed"]
        return GPT(vocab, context, width, depth, heads, hidden)
    if task == "vit_classification":
        patch = described["patch"]
        channels = shapes["patch_embed.weight"][1] // (patch * patch)
        tokens = shapes["pos_embed"][1]
        classes = shapes["head.weight"][0]
        return ViT(channels, patch, tokens, width, depth, heads, hidden, classes)
    raise SystemExit(f"no PyTorch reference model for task '{task}'")


def load_weights(model, weights):
    """Copies the dumped weights in; every name and shape must match exactly."""
    own = dict(model.named_parameters())
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    if missing or extra:
        raise SystemExit(f"parameter names differ: missing from the dump {missing}, "
                         f"not in the PyTorch model {extra}")
    with torch.no_grad():
        for name, p in own.items():
            if tuple(p.shape) != tuple(weights[name].shape):
                raise SystemExit(f"{name}: shape {tuple(weights[name].shape)} in the dump, "
                                 f"{tuple(p.shape)} in the PyTorch model")
            p.copy_(weights[name])


class Trainer:
    """The harness's training step on the reference model."""

    def __init__(self, dump):
        self.model = build_model(dump)
        load_weights(self.model, dump.params())
        self.model.train()
        o = dump.index["optimizer"]
        self.lr = o["lr"]
        self.scales = dump.index["lr_scales"]
        self.clip = dump.index["clip"]
        self.batches = dump.batches()
        # Weight decay only on parameters with two or more dimensions (nanoGPT's rule,
        # the suite's default weight_decay_on=matrices); biases and norm gains get none.
        params = list(self.model.parameters())
        groups = [{"params": [p for p in params if p.dim() >= 2],
                   "weight_decay": o["weight_decay"]},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=self.lr,
                                           betas=(o["beta1"], o["beta2"]), eps=o["eps"])

    def step(self, i):
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * self.scales[i % len(self.scales)]
        self.optimizer.zero_grad(set_to_none=False)
        inputs, targets = self.batches[i % len(self.batches)]
        loss = self.model.loss(inputs, targets)
        value = loss.item()
        loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        return value


def openblas():
    try:
        return ctypes.CDLL("libblas.so.3")  # the instance torch already loaded
    except OSError:
        return None


def blas_kernels():
    lib = openblas()
    if lib is None or not hasattr(lib, "openblas_get_corename"):
        return "unknown"
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return lib.openblas_get_corename().decode()


def set_threads(threads):
    torch.set_num_threads(threads)
    lib = openblas()  # OpenBLAS keeps its own pool, as the C++ side sets it too
    if lib is not None and hasattr(lib, "openblas_set_num_threads"):
        lib.openblas_set_num_threads(threads)


def relative_difference(ours, theirs):
    """|ours - theirs| / |theirs| over every tensor together (Frobenius norms)."""
    num = sum(float(((ours[n].double() - theirs[n].double()) ** 2).sum()) for n in theirs)
    den = sum(float((theirs[n].double() ** 2).sum()) for n in theirs)
    return math.sqrt(num) / max(math.sqrt(den), 1e-30)


def check(args):
    dump = Dump(args.dump)
    set_threads(args.threads)
    trainer = Trainer(dump)
    expected = dump.index["losses"]
    if not expected:
        raise SystemExit("the dump records no steps (dump it with --steps >= 1)")
    ok = True
    print(f"{dump.index['task']} ({dump.index['preset']} preset): {len(expected)} AdamW steps, "
          f"C++ loss vs PyTorch loss, tolerance {args.rtol:g} relative")
    own = dict(trainer.model.named_parameters())
    for i, cpp in enumerate(expected):
        py = trainer.step(i)
        rel = abs(py - cpp) / max(abs(cpp), 1e-12)
        good = rel <= args.rtol
        ok = ok and good
        print(f"  step {i}: C++ {cpp:.8f}  PyTorch {py:.8f}  relative difference {rel:.2e}"
              f"  {'ok' if good else 'DIFFERENT'}")
        if i == 0 and dump.index.get("first_grads"):
            # A loss is a mean and averages small model differences away (tanh-GELU
            # instead of erf-GELU moves it by ~2e-6); the gradients do not.
            grads = dump.params("first_grads")
            rel = relative_difference({n: p.grad for n, p in own.items()}, grads)
            good = rel <= args.grads_rtol
            ok = ok and good
            print(f"  step 0 gradients (clipped): |PyTorch - C++| / |C++| = {rel:.2e}"
                  f" (tolerance {args.grads_rtol:g})  {'ok' if good else 'DIFFERENT'}")
    # The weights after the steps: relative norm of the difference of the two
    # displacements (elements whose gradient is at rounding level may take AdamW's
    # +-lr first step in either direction, so this is reported, not an exact match).
    if dump.index["final_params"]:
        initial = dump.params()
        final = dump.params("final_params")
        rel = relative_difference({n: own[n].detach() - initial[n] for n in final},
                                  {n: final[n] - initial[n] for n in final})
        good = rel <= args.weights_rtol
        ok = ok and good
        print(f"  weights after {len(expected)} steps: |PyTorch - C++| / |C++ displacement| = "
              f"{rel:.2e} (tolerance {args.weights_rtol:g})  {'ok' if good else 'DIFFERENT'}")
    print("same work: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


def timed_step(trainer, i):
    start = time.perf_counter()
    trainer.step(i)
    return time.perf_counter() - start


def describe():
    return {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "blas_kernels": blas_kernels(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "optimizer": "torch.optim.AdamW (default implementation)",
    }


def time_steps(args):
    dump = Dump(args.dump)
    set_threads(args.threads)
    trainer = Trainer(dump)
    times = [timed_step(trainer, i) for i in range(args.warmup + args.steps)]
    result = {"step_seconds": times[args.warmup:], **describe()}
    text = json.dumps(result)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(args.out + ".tmp", args.out)
    else:
        print(text)
    return 0


def serve(args):
    dump = Dump(args.dump)
    set_threads(args.threads)
    trainer = Trainer(dump)
    print(json.dumps(describe()), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["quit"]:
            break
        if len(words) != 2 or words[0] != "step" or not words[1].isdigit():
            raise SystemExit(f"serve: expected 'step I' or 'quit', got {line!r}")
        print(repr(timed_step(trainer, int(words[1]))), flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check", help="replay the recorded steps and compare losses")
    c.add_argument("--dump", required=True)
    c.add_argument("--rtol", type=float, default=1e-5)
    c.add_argument("--grads_rtol", type=float, default=1e-5)
    c.add_argument("--weights_rtol", type=float, default=1e-3)
    c.add_argument("--threads", type=int, default=1)
    t = sub.add_parser("time", help="time training steps")
    t.add_argument("--dump", required=True)
    t.add_argument("--steps", type=int, default=20)
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--out", default="")
    v = sub.add_parser("serve", help="run steps on request, for lockstep timing")
    v.add_argument("--dump", required=True)
    v.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "time" and (args.steps < 1 or args.warmup < 0 or args.threads < 1):
        parser.error("--steps >= 1, --warmup >= 0 and --threads >= 1")
    return {"check": check, "time": time_steps, "serve": serve}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
