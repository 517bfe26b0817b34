#!/usr/bin/python3
"""retort against PyTorch on the CPU, side by side, in one invocation.

For each model and mode, times `retort bench ... --json` and PyTorch in its default
layout (NCHW) and in channels-last, alternately, and prints one table: images/s
(median and range), retort / PyTorch-best and retort / PyTorch-default, and the peak
resident memory of each. The PyTorch models are in bench/pytorch_zoo.py (the
RepDistiller/mdistiller CIFAR definitions of ../shared/MODELS.md); before timing,
their parameter counts and MACs are checked against `retort models` and MODELS.md,
and their state_dict keys and shapes against
../shared/reference/cifar_zoo_state_dict_keys.json when it is at hand.

Install and run (Debian/Ubuntu; the build and the tests never need Python):

    sudo apt-get install python3-torch      # PyTorch 1.13 with oneDNN and OpenMP
    make bench                              # builds build/retort, writes bench/RESULTS.md
    /usr/bin/python3 bench/pytorch_compare.py --retort build/retort --quick
    /usr/bin/python3 bench/pytorch_compare.py --models resnet20 --modes train,infer
    /usr/bin/python3 bench/pytorch_compare.py --modes distill --pairs resnet56:resnet20

Use the system interpreter (/usr/bin/python3): a pyenv or venv python does not see
Debian's python3-torch. The default set is the "Done when" list of issue 7: train
for resnet20, resnet56, resnet8x4, wrn_16_2 and MobileNetV2, distill (KD) for
resnet56 -> resnet20 and resnet32x4 -> resnet8x4, at batch 64 with 2 threads.

What is measured, on both sides (as tools/cmd_bench.cpp does):
  * input: random normal images [B, C, S, S] (retort holds them NHWC) and random
    labels in [0, K), created once; defaults B 64, C 3, S 32, K 100;
  * train: forward, cross-entropy, backward, SGD step (lr 0.05, momentum 0.9,
    weight decay 5e-4, PyTorch semantics), model in training mode;
  * infer: model in evaluation mode, forward without a graph (torch.no_grad);
  * distill: student forward (training mode), teacher forward in evaluation mode
    without a graph, the loss of `--method kd` with its CIFAR defaults
    (0.1 * CE + 0.9 * T^2 * batchmean KL(teacher || student), T = 4), backward, SGD step
    of the student;
  * each process runs --warmup untimed steps, then --inner-repeats timed repeats of
    --iters steps; a repeat's rate is batch * iters / its wall time; one image is
    one image of the batch (in distill mode its teacher forward is part of the step);
  * --repeats rounds alternate the configurations (retort, PyTorch NCHW, PyTorch
    channels-last; the order rotates each round), a fresh process each; the table
    gives the median over the rounds of each process's median and the range of
    all repeats;
  * memory: each process's peak resident set (getrusage ru_maxrss) at the end of
    its timed repeats (retort: peak_rss_mib of its JSON, its own VmHWM; PyTorch:
    the worker's own ru_maxrss at the same point), the largest over the rounds. The PyTorch figure
    includes the interpreter and libtorch (its RSS right after `import torch` is
    reported too), as it does for anyone who trains with it. Linux carries
    ru_maxrss across fork and execve, so this driver never imports torch: its own
    small RSS is the floor of every child's figure.

PyTorch is given its best honest setting: oneDNN (torch.backends.mkldnn) enabled,
torch.set_num_threads(T) with OMP_NUM_THREADS=T (retort: --threads T), gradients reset
with zero_grad(set_to_none=True), in-place ReLUs where the reference code has them,
the same warm-up before timing. The final average pools cover the whole map (what the
reference's fixed 8x8/4x4/2x2 pools do at 32x32), and ShuffleV2 skips the reference's
unused pre-activation concatenation (a feature tap, not part of the logits), so both
sides compute the same thing.
"""


import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ZOO_SCRIPT = os.path.join(HERE, "pytorch_zoo.py")
REFERENCE_KEYS = os.path.join(os.path.dirname(REPO), "shared", "reference", "cifar_zoo_state_dict_keys.json")

# MODELS.md section 2: learnable parameters and MACs at 3x32x32 with 100 classes, and
# the pooled dimension (params change by (K - 100) * (pooled + 1) for K classes).
MODELS_TABLE = {
    "resnet8": (83892, 12507392, 64), "resnet14": (181108, 26663168, 64), "resnet20": (278324, 40818944, 64),
    "resnet32": (472756, 69130496, 64), "resnet44": (667188, 97442048, 64), "resnet56": (861620, 125753600, 64),
    "resnet110": (1736564, 253155584, 64), "resnet8x4": (1233540, 177071104, 256),
    "resnet32x4": (7433860, 1083040768, 256), "wrn_16_1": (180916, 26663168, 64),
    "wrn_16_2": (703284, 101118464, 128), "wrn_40_1": (569780, 83286272, 64), "wrn_40_2": (2255156, 327610880, 128),
    "vgg8": (3965028, 96192512, 512), "vgg11": (9277284, 209438720, 512), "vgg13": (9462180, 284936192, 512),
    "vgg16": (14774436, 398182400, 512), "vgg19": (20086692, 511428608, 512),
    "MobileNetV2": (812836, 6523648, 1280), "ShuffleV1": (949258, 38691456, 960),
    "ShuffleV2": (1355528, 44504448, 1024), "ResNet18": (11220132, 555468800, 512),
    "ResNet50": (23705252, 1298014208, 2048),
}


DEFAULT_MODELS = "resnet20,resnet56,resnet8x4,wrn_16_2,MobileNetV2"
DEFAULT_PAIRS = "resnet56:resnet20,resnet32x4:resnet8x4"
CONFIGS = ("retort", "nchw", "cl")
CONFIG_TITLE = {"retort": "retort", "nchw": "PyTorch NCHW", "cl": "PyTorch channels-last"}


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON object in the output")


def run_json(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-600:]))
    return last_json_line(p.stdout)


def retort_cmd(a, case):
    mode, student, teacher = case
    cmd = [a.retort, "bench", "--model", student, "--mode", mode, "--batch", str(a.batch), "--threads",
           str(a.threads), "--iters", str(a.iters), "--repeats", str(a.inner_repeats), "--warmup", str(a.warmup),
           "--size", str(a.size), "--channels", str(a.channels), "--classes", str(a.classes), "--json"]
    if mode == "distill":
        cmd[4:4] = ["--teacher", teacher, "--method", "kd"]
    if a.peak:
        cmd += ["--peak", str(a.peak)]
    return cmd


def torch_cmd(a, case, layout):
    mode, student, teacher = case
    cmd = [sys.executable, ZOO_SCRIPT, "--worker", "--model", student, "--mode", mode, "--layout",
           layout, "--batch", str(a.batch), "--threads", str(a.threads), "--iters", str(a.iters),
           "--inner-repeats", str(a.inner_repeats), "--warmup", str(a.warmup), "--size", str(a.size),
           "--channels", str(a.channels), "--classes", str(a.classes)]
    if mode == "distill":
        cmd += ["--teacher", teacher]
    return cmd


def build_cases(a):
    cases = []
    for mode in a.modes:
        if mode == "distill":
            for pair in a.pairs:
                t, s = pair.split(":")
                cases.append(("distill", s, t))
        else:
            cases.extend((mode, m, None) for m in a.models)
    return cases


def check_models(a, names):
    """The PyTorch definitions against `retort models` (parameters, MACs), MODELS.md section 2
    and the reference state_dict keys and shapes. Returns (ok, report lines)."""
    p = subprocess.run([sys.executable, ZOO_SCRIPT, "--describe", "--models", ",".join(names), "--classes",
                        str(a.classes), "--channels", str(a.channels), "--size", str(a.size)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        log(p.stderr.strip())
        raise SystemExit(2 if p.returncode == 2 else 1)
    described = last_json_line(p.stdout)
    lines, ok = [], True
    retort_models = {}
    try:
        listing = subprocess.run([a.retort, "models", "--json", "--num-classes", str(a.classes)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True)
        retort_models = {m["name"]: m for m in json.loads(listing.stdout)}
    except (subprocess.CalledProcessError, ValueError) as e:
        lines.append("`retort models --json` failed (%s)" % e)
        ok = False
    reference = None
    if a.classes == 100 and a.channels == 3 and os.path.exists(a.reference_keys):
        with open(a.reference_keys) as f:
            reference = json.load(f)["models"]
    for name in names:
        d = described[name]
        params, macs, notes = d["params"], d["macs"], []
        r = retort_models.get(name)
        if r is None:
            notes.append("not in `retort models`")
            ok = False
        elif a.channels == 3:  # `retort models` describes 3-channel inputs
            if r["params"] != params:
                notes.append("params differ: retort %d" % r["params"])
                ok = False
            else:
                notes.append("params = retort models")
            if a.size == 32 and r.get("macs") is not None:
                if r["macs"] != macs:
                    notes.append("MACs differ: retort %d" % r["macs"])
                    ok = False
                else:
                    notes.append("MACs = retort models")
        table = MODELS_TABLE.get(name)
        if table and a.channels == 3:
            expect = table[0] + (a.classes - 100) * (table[2] + 1)
            if expect != params:
                notes.append("params differ from MODELS.md: %d" % expect)
                ok = False
            if a.size == 32 and table[1] != macs:
                notes.append("MACs differ from MODELS.md: %d" % table[1])
                ok = False
        if reference and name in reference:
            want = [[k, list(shape)] for k, shape, _ in reference[name]["keys"]]
            have = d["state_dict"]
            if want != have:
                diff = next(((w, h) for w, h in zip(want, have) if w != h), (len(want), len(have)))
                notes.append("state_dict differs from the reference at %s" % (diff,))
                ok = False
            else:
                notes.append("%d state_dict keys and shapes = reference" % len(want))
        lines.append(("%-12s params %10d  MACs %12d  %s" % (name, params, macs, "; ".join(notes))).rstrip())
    return ok, lines


def fmt_rate(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v


def summarize(samples):
    """samples: per-process results; median of the medians, range over every repeat, largest RSS."""
    if not samples:
        return None
    return {
        "median": statistics.median(s["images_per_second"] for s in samples),
        "min": min(s["images_per_second_min"] for s in samples),
        "max": max(s["images_per_second_max"] for s in samples),
        "rss": max(s["peak_rss_mib"] for s in samples),
        "n": len(samples),
    }


def case_title(case):
    mode, student, teacher = case
    return "%s -> %s" % (teacher, student) if mode == "distill" else student


def table_rows(results):
    header = ["model", "mode", "retort img/s", "PyTorch NCHW img/s", "PyTorch CL img/s", "retort/best",
              "retort/default", "retort MiB", "NCHW MiB", "CL MiB", "target"]
    rows = []
    for case, res in results:
        r, n, c = (summarize(res[k]) for k in CONFIGS)
        mode = case[0] + (" (kd)" if case[0] == "distill" else "")

        def cell(s):
            return "%s (%s-%s)" % (fmt_rate(s["median"]), fmt_rate(s["min"]), fmt_rate(s["max"])) if s else "failed"

        row = [case_title(case), mode, cell(r), cell(n), cell(c)]
        best = max((s for s in (n, c) if s), key=lambda s: s["median"], default=None)
        ratio_best = r["median"] / best["median"] if r and best else None
        ratio_default = r["median"] / n["median"] if r and n else None
        row.append("%.2fx%s" % (ratio_best, " (CL)" if best is c else " (NCHW)") if ratio_best else "-")
        row.append("%.2fx" % ratio_default if ratio_default else "-")
        row += ["%.0f" % s["rss"] if s else "-" for s in (r, n, c)]
        if case[0] == "infer":
            row.append("-")
        elif not (r and n and c):
            row.append("n/a")
        else:
            missed = []
            if ratio_best < 1.1:
                missed.append("best<1.1x")
            if ratio_default < 1.5:
                missed.append("default<1.5x")
            if not r["rss"] < min(n["rss"], c["rss"]):
                missed.append("memory")
            row.append("met" if not missed else "missed: " + ", ".join(missed))
        rows.append(row)
    return header, rows


def gflops_rows(results):
    header = ["model", "mode", "GFLOP per image", "retort GFLOP/s", "NCHW GFLOP/s", "CL GFLOP/s", "peak GFLOP/s"]
    rows = []
    for case, res in results:
        if not res["retort"]:
            continue
        j = res["retort"][0]
        if not j.get("images_per_second") or not j.get("gflops"):
            continue
        per_image = j["gflops"] / j["images_per_second"]
        peaks = [x["peak_gflops"] for x in res["retort"] if x.get("peak_gflops")]
        peak = statistics.median(peaks) if peaks else None
        cells = [case_title(case), case[0], "%.3f" % per_image]
        for k in CONFIGS:
            s = summarize(res[k])
            if not s:
                cells.append("-")
                continue
            g = s["median"] * per_image
            cells.append("%.1f (%.0f%%)" % (g, 100 * g / peak) if peak else "%.1f" % g)
        cells.append("%.1f%s" % (peak, " (measured)" if j.get("peak_measured") else "") if peak else "-")
        rows.append(cells)
    return header, rows


def render_text(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def render_markdown(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine_info():
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return "%s, %d logical CPUs (%d usable), %s; %s %s" % (
        model, os.cpu_count() or 0, usable, " ".join(isa) or "no AVX2", platform.system(), platform.release())


def git_commit():
    try:
        sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True).stdout.strip()
        return sha + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_args(argv):
    p = argparse.ArgumentParser(description="retort bench against PyTorch (NCHW and channels-last), side by side.",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--retort", default="build/retort", help="the retort binary (default build/retort; a relative "
                   "path not found from the current folder is taken from the repository root)")
    p.add_argument("--models", default=DEFAULT_MODELS, help="models of the train and infer modes (default %(default)s)")
    p.add_argument("--pairs", default=DEFAULT_PAIRS,
                   help="TEACHER:STUDENT pairs of the distill mode (default %(default)s)")
    p.add_argument("--modes", default="train,distill", help="any of train, infer, distill (default %(default)s)")
    p.add_argument("--batch", type=int, default=64, help="images per step (default 64)")
    p.add_argument("--threads", type=int, default=2, help="threads on both sides (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="alternating rounds, one fresh process per configuration "
                   "in each (default %(default)s)")
    p.add_argument("--inner-repeats", type=int, default=1, help="timed repeats inside each process (default 1)")
    p.add_argument("--iters", type=int, default=10, help="steps per timed repeat (default 10, as retort bench)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3, as retort bench)")
    p.add_argument("--size", type=int, default=32, help="image height and width (default 32)")
    p.add_argument("--channels", type=int, default=3, help="image channels (default 3)")
    p.add_argument("--classes", type=int, default=100, help="classifier size (default 100)")
    p.add_argument("--peak", type=float, default=None,
                   help="peak GFLOP/s for the shares of peak (default: retort bench's measured 1024^3 GEMM)")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 warm-up step, 1 repeat of 2 steps, 2 rounds")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables with machine, date, commit and "
                   "PyTorch version to FILE (make bench: bench/RESULTS.md)")
    p.add_argument("--reference-keys", default=REFERENCE_KEYS, metavar="JSON",
                   help="state_dict keys and shapes to check the PyTorch models against (default %(default)s; "
                   "skipped when absent)")
    p.add_argument("--skip-check", action="store_true", help="run even when a model's shapes disagree")
    a = p.parse_args(argv)
    for k in ("batch", "threads", "repeats", "inner_repeats", "iters", "size", "channels", "classes"):
        if getattr(a, k) < 1:
            p.error("--%s expects a positive integer" % k.replace("_", "-"))
    if a.warmup < 0:
        p.error("--warmup expects 0 or more")
    if a.quick:
        a.warmup, a.iters, a.repeats, a.inner_repeats = 1, 2, 2, 1
    a.models = [m for m in a.models.split(",") if m]
    a.pairs = [q for q in a.pairs.split(",") if q]
    a.modes = [m for m in a.modes.split(",") if m]
    for m in a.modes:
        if m not in ("train", "infer", "distill"):
            p.error("--modes: unknown mode '%s' (train, infer, distill)" % m)
    for q in a.pairs:
        if q.count(":") != 1 or not all(q.split(":")):
            p.error("--pairs expects TEACHER:STUDENT, found '%s'" % q)
    if not os.path.exists(a.retort) and not os.path.isabs(a.retort):
        a.retort = os.path.join(REPO, a.retort)
    a.retort = os.path.abspath(a.retort)
    if not os.access(a.retort, os.X_OK):
        p.error("no retort binary at %s (make bench builds it; or pass --retort PATH)" % a.retort)
    return a


def main(argv):
    a = parse_args(argv)
    cases = build_cases(a)
    if not cases:
        log("pytorch_compare.py: nothing to run (check --modes, --models, --pairs)")
        return 2
    names = []
    for _, s, t in cases:
        for n in (t, s):
            if n and n not in names:
                names.append(n)

    ok, lines = check_models(a, names)
    log("model check (bench/pytorch_zoo.py against retort models, MODELS.md and the reference keys):")
    for line in lines:
        log("  " + line)
    if not ok and not a.skip_check:
        log("pytorch_compare.py: the PyTorch models do not match retort's; stopping (--skip-check runs anyway)")
        return 1

    started = datetime.datetime.now(datetime.timezone.utc)
    # retort gets --threads T as a user would run it; the PyTorch workers call
    # torch.set_num_threads(T) and get OMP_NUM_THREADS=T so that OpenMP starts with that
    # team. Every process is started by this small driver, which never imports torch (its
    # RSS is a floor under every child's ru_maxrss).
    torch_env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    results, info, failures = [], {}, 0
    for case in cases:
        res = {k: [] for k in CONFIGS}
        for rnd in range(a.repeats):
            order = CONFIGS[rnd % 3:] + CONFIGS[:rnd % 3]
            for k in order:
                cmd = retort_cmd(a, case) if k == "retort" else torch_cmd(a, case, k)
                try:
                    j = run_json(cmd, None if k == "retort" else torch_env)
                except (RuntimeError, ValueError) as e:
                    log("  FAILED %s %s: %s" % (case_title(case), CONFIG_TITLE[k], e))
                    failures += 1
                    continue
                used = j.get("threads" if k == "retort" else "torch_threads")
                if used is not None and int(used) != a.threads:
                    log("  WARNING: %s ran %s threads, not %d" % (CONFIG_TITLE[k], used, a.threads))
                res[k].append(j)
                info.setdefault("retort" if k == "retort" else "torch", j)
                log("  %-24s %-8s round %d/%d  %-22s %8s img/s  %6.0f MiB" % (
                    case_title(case), case[0], rnd + 1, a.repeats, CONFIG_TITLE[k], fmt_rate(j["images_per_second"]),
                    j["peak_rss_mib"]))
        results.append((case, res))
    finished = datetime.datetime.now(datetime.timezone.utc)
    driver_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    header, rows = table_rows(results)
    gheader, grows = gflops_rows(results)
    t = info.get("torch", {})
    rj = info.get("retort", {})
    settings = ("batch %d, %d threads, input %dx%dx%d, %d classes; per process %d warm-up step(s), then %d timed "
                "repeat(s) of %d steps; %d alternating round(s)" % (
                    a.batch, a.threads, a.channels, a.size, a.size, a.classes, a.warmup, a.inner_repeats, a.iters,
                    a.repeats))
    torch_line = "PyTorch %s, oneDNN (mkldnn) %s, %s threads" % (
        t.get("torch_version", "?"),
        "enabled" if t.get("mkldnn_enabled") and t.get("mkldnn_available") else "NOT enabled",
        t.get("torch_threads", "?"))
    if t:
        torch_line += "; its RSS right after `import torch`: %.0f MiB" % t["import_rss_mib"]
    retort_line = "retort %s, commit %s, GEMM %s%s" % (
        a.retort, git_commit(), rj.get("gemm_backend", "?"),
        ", convolution %s" % rj["conv_backend"] if "conv_backend" in rj else "")
    memory_note = ("peak resident set of each process at the end of its timed steps (retort: VmHWM; PyTorch: "
                   "ru_maxrss), the largest over the rounds, in MiB (the driver's own is %.0f MiB, a floor for "
                   "ru_maxrss)" % driver_rss)
    smoke = "SMOKE RUN (--quick): too few steps to measure anything; for checking the script only"
    print()
    if a.quick:
        print(smoke)
    print("images/s: median over rounds (lowest-highest repeat); ratios against PyTorch's best layout and its "
          "default (NCHW)")
    print(render_text(header, rows))
    print()
    print(render_text(gheader, grows))
    print()
    print("settings: " + settings)
    print("memory: " + memory_note)
    print(torch_line)
    print(retort_line)
    print("machine: " + machine_info())
    if t:
        print("torch.__config__.parallel_info() in a worker, after set_num_threads(%d):" % a.threads)
        print("  " + t["parallel_info"].strip().replace("\n", "\n  "))

    if a.markdown:
        md = ["# retort vs PyTorch on the CPU", "",
              "Written by `bench/pytorch_compare.py` (`make bench`), %s to %s UTC." % (
                  started.strftime("%Y-%m-%d %H:%M"), finished.strftime("%H:%M")),
              ""] + (["**%s**" % smoke, ""] if a.quick else []) + [
              "- machine: " + machine_info(),
              "- " + retort_line.replace(a.retort, "`%s`" % os.path.relpath(a.retort, REPO)),
              "- " + torch_line,
              "- settings: " + settings + "; each round runs retort, PyTorch NCHW and PyTorch channels-last, "
              "in a rotating order, each in a fresh process",
              "- memory: " + memory_note,
              "- target (issue 7, train and distill): retort at least 1.1x PyTorch's best layout and 1.5x its "
              "default layout, with a lower peak resident memory than both",
              "",
              "images/s: median over rounds (lowest-highest repeat).",
              "",
              render_markdown(header, rows),
              "",
              "Achieved GFLOP/s (a training step counts 3x the forward multiply-adds at 2 FLOP each, the "
              "teacher's forward once) and its share of the peak:",
              "",
              render_markdown(gheader, grows),
              ""]
        if t:
            md += ["<details><summary>torch.__config__.parallel_info() in a worker</summary>", "", "```",
                   t["parallel_info"].strip(), "```", "", "</details>", ""]
        md += ["Model check (`bench/pytorch_zoo.py` against `retort models`, MODELS.md and the reference "
               "state_dict keys): " + ("all agree." if ok else "MISMATCHES."), "", "```"] + lines + ["```", ""]
        with open(a.markdown + ".tmp", "w") as f:
            f.write("\n".join(md))
        os.replace(a.markdown + ".tmp", a.markdown)
        log("wrote %s" % a.markdown)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
