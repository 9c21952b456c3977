"""Comments per second for Detoxify ``original`` and ``unbiased`` on this CPU, per scoring path.

Each variant runs in a fresh subprocess (honest load time and peak memory) on random-weight
checkpoints of the real architectures (``bench/build_checkpoints.py``, built on first use):

* ``single``: ``Detoxify.predict(text)``, one comment per call (the baseline);
* ``batch16``: ``Detoxify.predict(list)``, 16 comments per call in arrival order;
* ``bucketed``: our backend, ``DetoxifyClassifier.score`` (sorted by length, batches of 16);
* ``int8-single``: our backend with ``optimize="int8"``, one comment per ``score`` call;
* ``int8-bucketed``: our backend with ``optimize="int8"``, all comments in one ``score`` call;
* ``onnx-single`` and ``onnx-bucketed``: the same with ``optimize="onnx-int8"`` (the int8 ONNX
  Runtime model, built once into ``bench/.cache/onnx`` before any timing; the build time is
  printed).

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
    "onnx-single": "(e) backend + ONNX Runtime int8, one comment per call",
    "onnx-bucketed": "(e) backend + ONNX Runtime int8, length-bucketed 8",
}
OPTIMIZE = {"int8": "int8", "onnx": "onnx-int8"}
"""The backend's ``optimize`` setting per variant prefix; other variants use ``none``."""
ONNX_CACHE = ROOT / "bench" / ".cache" / "onnx"
BASELINE = "single"
WARMUP = 8
"""Comments scored before timing: the first forward pass pays one-off setup costs."""
SLICE = 64
"""Comments per timed call. Variants take turns slice by slice, so load from other processes
on a shared machine hits them all alike; 64 still gives the bucketed path 4 batches to sort."""

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


# --- child: one variant in its own process -----------------------------------------------------

_TAG = "@@bench "
"""Prefix of the child's protocol lines on stdout (libraries may print there too)."""


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _say(message: dict[str, Any]) -> None:
    print(_TAG + json.dumps(message), flush=True)


def child(model: str, variant: str, comments: list[str]) -> None:
    """Load one variant, then score the slices the parent asks for, one at a time.

    Protocol: after loading and warming up, print a ``ready`` line; then for each stdin line
    ``score START END`` time ``comments[START:END]`` and print the time and scores; on
    ``quit`` print the process's peak RSS and exit.
    """
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
            optimize=OPTIMIZE.get(variant.split("-")[0], "none"),
            onnx_cache=ONNX_CACHE,
        )
        tokenizer = classifier._detox.tokenizer

        def score(texts: list[str]) -> list[dict[str, float]]:
            if variant.endswith("-single"):
                return [classifier.score([text])[0] for text in texts]
            return classifier.score(texts)

    load_s = time.perf_counter() - started
    rss_after_load = _rss_mb("VmRSS")
    score(comments[:WARMUP])
    tokens = [len(tokenizer(text)["input_ids"]) for text in comments]
    _say(
        {
            "import_s": import_s,
            "load_s": load_s,
            "rss_after_load_mb": rss_after_load,
            "mean_tokens": statistics.fmean(tokens),
            "max_tokens": max(tokens),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }
    )
    for line in sys.stdin:
        command, *span = line.split()
        if command == "quit":
            break
        first, last = (int(x) for x in span)
        started = time.perf_counter()
        scores = score(comments[first:last])
        _say({"elapsed": time.perf_counter() - started, "scores": scores})
    _say({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


# --- parent: orchestrate, compare, print --------------------------------------------------------


class Worker:
    """One variant's child process, driven a slice at a time."""

    def __init__(self, model: str, variant: str, comments_file: Path) -> None:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.name = f"{model}/{variant}"
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the child
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", model, variant, str(comments_file)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(_TAG):
                return dict(json.loads(line[len(_TAG) :]))
        self.stderr.seek(0)
        sys.stderr.write(self.stderr.read())
        raise SystemExit(f"{self.name} failed with exit code {self.process.wait()}")

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> dict[str, Any]:
        final = self.ask("quit")
        self.process.wait()
        self.stderr.close()
        return final


def measure(
    model: str, variants: list[str], comments_file: Path, count: int, rounds: int
) -> list[dict[str, Any]]:
    """Time every variant of one model, interleaved slice by slice so they share the noise."""
    workers = {}
    for variant in variants:  # one at a time: loads must not compete with each other
        print(f"{model} / {variant}: loading ...", file=sys.stderr, flush=True)
        workers[variant] = Worker(model, variant, comments_file)
    slices = [(first, min(first + SLICE, count)) for first in range(0, count, SLICE)]
    # seconds[variant][round][slice]
    seconds = {variant: [[0.0] * len(slices) for _ in range(rounds)] for variant in variants}
    scores: dict[str, list[dict[str, float]]] = {variant: [] for variant in variants}
    turn = 0
    for round_ in range(rounds):
        print(f"{model}: round {round_ + 1} of {rounds} ...", file=sys.stderr, flush=True)
        for index, (first, last) in enumerate(slices):
            # Rotate who goes first, so no variant always follows the same neighbour.
            order = variants[turn % len(variants) :] + variants[: turn % len(variants)]
            turn += 1
            for variant in order:
                answer = workers[variant].ask(f"score {first} {last}")
                seconds[variant][round_][index] = answer["elapsed"]
                if round_ == 0:
                    scores[variant].extend(answer["scores"])
    results = []
    for variant, worker in workers.items():
        final = worker.close()
        results.append(
            {
                "model": model,
                "variant": variant,
                **worker.info,
                "peak_rss_mb": final["peak_rss_mb"],
                "seconds": seconds[variant],
                "scores": scores[variant],
            }
        )
    return results


def prepare_onnx(model: str) -> float:
    """Build the model's int8 ONNX file into the cache (if it is not there); return seconds."""
    started = time.perf_counter()
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/bench']\n"
        "import build_checkpoints\nfrom pathlib import Path\n"
        "from classifiers.detoxify_backend import DetoxifyClassifier\n"
        "built = build_checkpoints.build(sys.argv[2])\n"
        "DetoxifyClassifier.load(sys.argv[2], checkpoint=built.checkpoint,"
        " huggingface_config_path=built.hf_dir, expected_sha256=built.sha256,"
        " optimize='onnx-int8', onnx_cache=Path(sys.argv[3]))\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    subprocess.run(
        [sys.executable, "-c", code, str(ROOT), model, str(ONNX_CACHE)], env=env, check=True
    )
    return time.perf_counter() - started


def _seconds(row: dict[str, Any]) -> tuple[float, float]:
    """Total time over all rounds, and the sum over slices of each slice's fastest round.

    On a shared machine the second is the better estimate of an idle machine: a slice is
    rarely slowed down in every round.
    """
    per_round: list[list[float]] = row["seconds"]
    total = sum(sum(slices) for slices in per_round)
    fastest = sum(min(times) for times in zip(*per_round, strict=True))
    return total, fastest


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
    parser.add_argument("--rounds", type=int, help="timed passes over all comments (default 2)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        model, variant, comments_file = args.child
        child(model, variant, json.loads(Path(comments_file).read_text()))
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
            build_checkpoints.build(model)  # once, before any timing
            if any(variant.startswith("onnx") for variant in variants):
                seconds = prepare_onnx(model)
                print(f"{model}: ONNX int8 model ready in {seconds:.0f} s", file=sys.stderr)
            results.extend(measure(model, variants, comments_file, count, rounds))
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
        "| model | variant | comments/s, all rounds | comments/s, fastest round per slice "
        "| speed-up vs (a): all / fastest | max abs score diff vs (a) | mean abs diff | load s "
        "| RSS after load MB | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        rows = [r for r in results if r["model"] == model]
        base_all, base_fastest = _seconds(rows[0])
        for row in rows:
            total, fastest = _seconds(row)
            if row is rows[0]:
                diff = mean = "-"
            else:
                worst, avg = _max_and_mean_diff(row["scores"], rows[0]["scores"])
                diff, mean = f"{worst:.4f}", f"{avg:.4f}"
            print(
                f"| {model} | {VARIANTS[row['variant']]} | {count * rounds / total:.1f} "
                f"| {count / fastest:.1f} "
                f"| {base_all / total:.1f}x / {base_fastest / fastest:.1f}x "
                f"| {diff} | {mean} | {row['load_s']:.1f} | {row['rss_after_load_mb']:.0f} "
                f"| {row['peak_rss_mb']:.0f} |"
            )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": before, "after": after, "results": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
