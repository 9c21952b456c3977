"""Comments per second for Detoxify ``original`` and ``unbiased`` on this CPU, per scoring path.

Each variant runs in a fresh subprocess (honest load time and peak memory) on random-weight
checkpoints of the real architectures (``bench/build_checkpoints.py``, built on first use):

* ``single``: ``Detoxify.predict(text)``, one comment per call (the baseline);
* ``batch16``: ``Detoxify.predict(list)``, 16 comments per call in arrival order;
* ``bucketed``: our backend, ``DetoxifyClassifier.score`` (sorted by length, batches of 16);
* ``int8-single``: our backend with ``optimize="int8"``, one comment per ``score`` call;
* ``int8-bucketed``: our backend with ``optimize="int8"``, all comments in one ``score`` call.

Scores are compared with ``single`` over the same comments: the largest absolute difference
over every comment and label is what the optimisation changes. Random weights measure compute
only; the int8 drift must be re-checked on the real weights.

Usage::

    .venv/bin/python bench/classifier_throughput.py            # 256 comments, 2 timed rounds
    .venv/bin/python bench/classifier_throughput.py --quick    # 64 comments, 1 round
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import build_checkpoints

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("original", "unbiased")
VARIANTS: dict[str, str] = {
    "single": "(a) Detoxify, one comment per call",
    "batch16": "(b) Detoxify, batches of 16 in arrival order",
    "bucketed": "(c) backend: length-bucketed batches of 16",
    "int8-single": "(d) backend + int8, one comment per call",
    "int8-bucketed": "(d) backend + int8, length-bucketed 16",
}
BASELINE = "single"
WARMUP = 8
"""Comments scored before timing: the first forward pass pays one-off setup costs."""

# --- synthetic council comments ----------------------------------------------------------------

_PLACES = [
    "Mill Lane", "the High Street", "Station Road", "Church Walk", "Oak Avenue",
    "the market square", "Victoria Park", "the retail park", "Brook Street",
    "the roundabout by the school", "Elm Close", "the canal towpath", "Queens Road",
    "the leisure centre car park",
]  # fmt: skip
_SERVICES = [
    "bin collection", "recycling collection", "street cleaning", "library opening hours",
    "bus service", "parking enforcement", "planning department", "council tax team",
    "pothole repairs", "grass cutting", "street lighting", "housing office",
]  # fmt: skip
_PEOPLE = [
    "the council", "the councillors", "the cabinet member for transport", "the mayor",
    "the planning committee", "our ward councillor", "the highways team", "whoever runs this page",
]  # fmt: skip
_TIMES = [
    "for three weeks", "since January", "for months", "again this week", "twice this month",
    "since the new contract started", "every Tuesday", "for over a year",
]  # fmt: skip
_SENTENCES = [
    "The {service} on {place} has been missed {time}.",
    "Thank you to {person} for sorting out the {service} so quickly.",
    "When is {person} going to fix the potholes on {place}?",
    "I have reported the broken streetlight on {place} {time} and nothing has happened.",
    "Why does {person} keep ignoring residents about the {service}?",
    "Great to see the new benches in {place}, the kids love them.",
    "Can someone tell me who to contact about the {service}?",
    "The consultation on {place} closed before most of us even heard about it.",
    "This is a disgrace and {person} should be ashamed of themselves.",
    "Council tax goes up every year while the {service} gets worse.",
    "Fly tipping on {place} has got completely out of hand {time}.",
    "Please put a crossing near {place} before a child gets hurt.",
    "Absolutely useless, {person} could not organise a bin collection.",
    "I emailed {person} {time} and still have not had a reply.",
    "Well done to the staff at the {service}, they were really helpful.",
    "Parking on {place} is a nightmare since the new restrictions came in.",
    "Who on earth approved this planning application on {place}?",
    "The meeting minutes are still not online, which is not good enough.",
    "Shut up and do your jobs, you are a bunch of clueless idiots.",
    "My elderly neighbour cannot get to the shops since the {service} was cut.",
    "Is the {service} running over the bank holiday?",
    "These so called improvements to {place} are a waste of our money.",
    "Residents were promised a new playground on {place} years ago.",
    "The road surface on {place} is dangerous for cyclists {time}.",
    "Corrupt lot, the lot of you, lining your own pockets.",
    "Lovely to see the flowers back on {place} this spring.",
    "If {person} actually lived here they would understand the problem.",
    "The drains on {place} flood every time it rains.",
    "Thanks for the update, but when will the {service} actually improve?",
    "Nobody at {person} answers the phone, it just rings out.",
    "I support the new cycle lane on {place}, it makes the school run safer.",
    "The smell from the recycling centre has been awful {time}.",
    "Typical, another survey nobody will read while {place} falls apart.",
    "You should be sacked for the state of {place}, pathetic.",
    "Could the {service} publish a timetable that is actually accurate?",
    "The trees on {place} need cutting back, they are blocking the pavement.",
    "Dog mess all over {place} and not one fine issued {time}.",
    "Really pleased with how quickly the graffiti on {place} was removed.",
]  # fmt: skip


def make_comments(count: int, seed: int = 2024) -> list[str]:
    """``count`` distinct, realistic public comments of 10-80 words, the same every run."""
    rng = random.Random(seed)
    comments: dict[str, None] = {}
    while len(comments) < count:
        target = rng.randint(10, 80)
        words: list[str] = []
        while len(words) < target:
            sentence = rng.choice(_SENTENCES).format(
                place=rng.choice(_PLACES),
                service=rng.choice(_SERVICES),
                person=rng.choice(_PEOPLE),
                time=rng.choice(_TIMES),
            )
            words.extend(sentence.split())
        if len(words) > 80:
            words = words[:80]
            words[-1] = words[-1].rstrip(",.?!") + "."
        comment = " ".join(words)
        if rng.random() < 0.15:  # some people type in lower case without full stops
            comment = comment.lower().replace(".", "")
        comments.setdefault(comment)
    return list(comments)


# --- child: one variant in a fresh process ------------------------------------------------------


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_variant(model: str, variant: str, comments: list[str], rounds: int) -> dict[str, Any]:
    """Load, warm up, then time ``rounds`` passes over ``comments``; runs inside the child."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    built = build_checkpoints.build(model)

    started = time.perf_counter()
    import torch
    import transformers

    from classifiers.detoxify_backend import DetoxifyClassifier

    import_s = time.perf_counter() - started

    started = time.perf_counter()
    tokenizer: Any
    if variant in ("single", "batch16"):
        from detoxify import Detoxify

        detox = Detoxify(
            checkpoint=str(built.checkpoint), huggingface_config_path=str(built.hf_dir)
        )
        tokenizer = detox.tokenizer

        def score(texts: list[str]) -> list[dict[str, float]]:
            out: list[dict[str, float]] = []
            if variant == "single":
                for text in texts:
                    out.append({k: float(v) for k, v in detox.predict(text).items()})
            else:
                for first in range(0, len(texts), 16):
                    batch = texts[first : first + 16]
                    result = detox.predict(batch)
                    for i in range(len(batch)):
                        row = {k: (v[i] if isinstance(v, list) else v) for k, v in result.items()}
                        out.append({k: float(v) for k, v in row.items()})
            return out

    else:
        classifier = DetoxifyClassifier.load(
            model,
            checkpoint=built.checkpoint,
            huggingface_config_path=built.hf_dir,
            expected_sha256=built.sha256,
            optimize="int8" if variant.startswith("int8") else "none",
        )
        tokenizer = classifier._detox.tokenizer

        def score(texts: list[str]) -> list[dict[str, float]]:
            if variant == "int8-single":
                return [classifier.score([text])[0] for text in texts]
            return classifier.score(texts)

    load_s = time.perf_counter() - started
    rss_after_load = _rss_mb("VmRSS")

    score(comments[:WARMUP])
    load_average_before = os.getloadavg()[0]
    timings = []
    scores: list[dict[str, float]] = []
    for _ in range(rounds):
        started = time.perf_counter()
        scores = score(comments)
        timings.append(time.perf_counter() - started)

    tokens = [len(tokenizer(text)["input_ids"]) for text in comments]
    return {
        "model": model,
        "variant": variant,
        "comments_per_s": [len(comments) / t for t in timings],
        "import_s": import_s,
        "load_s": load_s,
        "rss_after_load_mb": rss_after_load,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average_1min": [load_average_before, os.getloadavg()[0]],
        "mean_tokens": statistics.fmean(tokens),
        "max_tokens": max(tokens),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "scores": scores,
    }


# --- parent: orchestrate, compare, print --------------------------------------------------------


def _child(model: str, variant: str, comments_file: Path, rounds: int) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--child", model, variant, str(comments_file), str(rounds)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{model}/{variant} failed with exit code {done.returncode}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _max_and_mean_diff(
    got: list[dict[str, float]], base: list[dict[str, float]]
) -> tuple[float, float]:
    diffs = [abs(g[label] - b[label]) for g, b in zip(got, base, strict=True) for label in b]
    return max(diffs), statistics.fmean(diffs)


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    flags = Path("/proc/cpuinfo").read_text()
    extras = [f for f in ("avx512_vnni", "amx_int8") if f in flags]
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cpu": f"{cpu} ({', '.join(extras) or 'no VNNI/AMX'})",
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 comments, 1 timed round")
    parser.add_argument("--comments", type=int, help="number of comments (default 256)")
    parser.add_argument("--rounds", type=int, help="timed passes per variant (default 2)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        model, variant, comments_file, rounds = args.child
        comments = json.loads(Path(comments_file).read_text())
        print(json.dumps(run_variant(model, variant, comments, int(rounds))))
        return 0

    count = args.comments or (64 if args.quick else 256)
    rounds = args.rounds or (1 if args.quick else 2)
    comments = make_comments(count)
    variants = [BASELINE, *(v for v in args.variants if v != BASELINE)]
    before = machine()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        comments_file = Path(tmp) / "comments.json"
        comments_file.write_text(json.dumps(comments))
        for model in args.models:
            build_checkpoints.build(model)  # once, outside the timed children
            for variant in variants:
                print(f"{model} / {variant} ...", file=sys.stderr, flush=True)
                results.append(_child(model, variant, comments_file, rounds))
    after = machine()

    words = [len(comment.split()) for comment in comments]
    print(f"CPU: {before['cpu']}; {before['cores']} cores; {before['ram']} RAM")
    first = results[0]
    print(
        f"Python {before['python']}, torch {first['torch']} ({first['threads']} threads), "
        f"transformers {first['transformers']}"
    )
    print(
        f"{count} comments, {min(words)}-{max(words)} words (mean {statistics.fmean(words):.0f}); "
        f"{rounds} timed round(s) per variant after {WARMUP} warm-up comments; load average "
        f"{before['load_average']} before, {after['load_average']} after"
    )
    for model in args.models:
        base = next(r for r in results if r["model"] == model)
        print(
            f"{model}: {base['mean_tokens']:.1f} tokens per comment on average "
            f"(max {base['max_tokens']}) with the locally trained tokenizer"
        )
    print()
    print(
        "| model | variant | comments/s, median | best round | speed-up, median (best) "
        "| max abs score diff vs (a) | mean abs diff | load s | RSS after load MB | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        rows = [r for r in results if r["model"] == model]
        base = rows[0]
        base_median = statistics.median(base["comments_per_s"])
        base_best = max(base["comments_per_s"])
        for row in rows:
            median = statistics.median(row["comments_per_s"])
            best = max(row["comments_per_s"])
            if row is base:
                diff = mean = "-"
            else:
                worst, avg = _max_and_mean_diff(row["scores"], base["scores"])
                diff, mean = f"{worst:.4f}", f"{avg:.4f}"
            print(
                f"| {model} | {VARIANTS[row['variant']]} | {median:.1f} | {best:.1f} "
                f"| {median / base_median:.1f}x ({best / base_best:.1f}x) | {diff} | {mean} "
                f"| {row['load_s']:.1f} | {row['rss_after_load_mb']:.0f} "
                f"| {row['peak_rss_mb']:.0f} |"
            )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": before, "after": after, "results": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
