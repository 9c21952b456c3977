"""Build random-weight Detoxify checkpoints of the real architectures, fully offline.

The real Detoxify weights cannot be downloaded here, but compute depends only on the shapes:
a BERT-base with random weights does exactly the work of the trained ``original`` model. This
script writes, per model, into ``bench/.cache/<model>/`` (git-ignored):

* ``hf/``: ``config.json`` with the real base model's shapes and the checkpoint's head width,
  plus a tokenizer trained locally (``tokenizers`` library) on English text from Python's
  standard library (docstrings, string constants and comments of this interpreter's stdlib);
* ``random-<base>-<model>.ckpt``: Detoxify's checkpoint format (``config`` + ``state_dict``),
  seeded random weights, naming ``hf/`` as its base model so no hub id is ever looked up
  (reference ``shared/reference/detoxify.md`` sections 1.2-1.4, route B with a re-saved
  ``arch.args.model_type``);
* ``manifest.json``: the checkpoint's SHA-256 and size, for ``checkpoint_sha256``.

Load one with ``DetoxifyClassifier.load(model, checkpoint=..., huggingface_config_path=...,
expected_sha256=...)``. Scores are meaningless (random weights); only speed, memory and the
drift an optimisation introduces on these weights are measured with them.

Usage::

    .venv/bin/python bench/build_checkpoints.py [--cache-dir bench/.cache] [--force]
"""

from __future__ import annotations

import argparse
import ast
import functools
import hashlib
import io
import json
import os
import sys
import sysconfig
import time
import tokenize
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = BENCH_DIR / ".cache"
RECIPE_VERSION = 2
"""Bump when anything below changes what gets built; stale caches are then rebuilt."""


@dataclass(frozen=True)
class Spec:
    """One Detoxify model: its base architecture's real shapes and its checkpoint head."""

    model: str
    base: str
    model_name: str
    tokenizer_name: str
    config: dict[str, Any]
    head_width: int
    classes: tuple[str, ...]
    seed: int


SPECS: dict[str, Spec] = {
    "original": Spec(
        model="original",
        base="bert-base-uncased",
        model_name="BertForSequenceClassification",
        tokenizer_name="BertTokenizer",
        config={
            "vocab_size": 30522,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "hidden_act": "gelu",
            "max_position_embeddings": 512,
            "type_vocab_size": 2,
            "layer_norm_eps": 1e-12,
            "pad_token_id": 0,
        },
        head_width=6,
        # The raw Jigsaw 2018 names, as in the published file; Detoxify renames three of them.
        classes=("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"),
        seed=20180,
    ),
    "unbiased": Spec(
        model="unbiased",
        base="roberta-base",
        model_name="RobertaForSequenceClassification",
        tokenizer_name="RobertaTokenizer",
        config={
            "vocab_size": 50265,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "hidden_act": "gelu",
            "max_position_embeddings": 514,
            "type_vocab_size": 1,
            "layer_norm_eps": 1e-5,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        # The published head is 16 wide (7 labels + 9 identity columns Detoxify drops).
        head_width=16,
        classes=(
            "toxicity",
            "severe_toxicity",
            "obscene",
            "identity_attack",
            "insult",
            "threat",
            "sexual_explicit",
        ),
        seed=20190,
    ),
}

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0, 100-103 in the real one
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0-3 as in roberta-base


@dataclass(frozen=True)
class Built:
    """Where one model's files are, and what the backend needs to load them."""

    model: str
    checkpoint: Path
    hf_dir: Path
    sha256: str
    size_bytes: int
    tokenizer_size: int


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


@functools.cache
def corpus() -> list[str]:
    """English prose from this interpreter's stdlib: long string constants and comments.

    Deterministic for a given Python build (files in sorted order). About 1M words on 3.11.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    print(f"reading English prose from {root} ...", file=sys.stderr)
    texts: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.relative_to(root).parts:
            continue
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.extend(_prose(node.value))
        try:
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type == tokenize.COMMENT:
                    texts.extend(_prose(token.string.lstrip("#")))
        except (tokenize.TokenError, SyntaxError):
            continue
    return texts


def _prose(text: str) -> Iterator[str]:
    text = text.strip()
    if len(text.split()) >= 4 and text.isascii():
        yield text


def train_tokenizer(spec: Spec, texts: list[str], hf_dir: Path) -> int:
    """Train a WordPiece (BERT) or byte-level BPE (RoBERTa) tokenizer into ``hf_dir``.

    Returns its size. The corpus runs out of pairs seen twice before the real vocabulary size is
    reached for RoBERTa (about 34k of 50k entries); the model keeps the real embedding size.
    """
    import transformers

    hf_dir.mkdir(parents=True, exist_ok=True)
    tokenizer_class = getattr(transformers, spec.tokenizer_name)
    if spec.tokenizer_name == "BertTokenizer":
        vocab = _wordpiece_vocab(texts, int(spec.config["vocab_size"]))
        # The plain vocab.txt too, so transformers 4.x's slow BertTokenizer could load it.
        (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tokenizer = tokenizer_class(
            vocab={token: index for index, token in enumerate(vocab)}, model_max_length=512
        )
    else:
        from tokenizers import ByteLevelBPETokenizer

        trained = ByteLevelBPETokenizer()
        trained.train_from_iterator(
            texts,
            vocab_size=int(spec.config["vocab_size"]),
            min_frequency=2,
            show_progress=False,
            special_tokens=ROBERTA_SPECIALS,
        )
        trained.save_model(str(hf_dir))  # vocab.json and merges.txt, for transformers 4.x
        model_json = json.loads(trained.to_str())["model"]
        merges = [
            tuple(pair) if isinstance(pair, list) else tuple(pair.split(" "))
            for pair in model_json["merges"]
        ]
        tokenizer = tokenizer_class(
            vocab=dict(model_json["vocab"]), merges=merges, model_max_length=512
        )
    size = len(tokenizer)
    if not 1000 < size <= int(spec.config["vocab_size"]):
        raise RuntimeError(f"{spec.model}: the trained tokenizer has {size} entries")
    tokenizer.save_pretrained(str(hf_dir))
    return size


def _wordpiece_vocab(texts: list[str], vocab_size: int) -> list[str]:
    """A BERT-style uncased WordPiece vocabulary, reproducible byte for byte.

    ``tokenizers``' WordPiece trainer is not deterministic (it numbers "##" pieces in hash-map
    order, which breaks ties differently per run: 23380-23390 entries measured). Its plain BPE
    trainer is, so train that on BERT-normalised, BERT-pre-tokenised words and offer every piece
    both word-initially and as a "##" continuation. Token counts on stdlib prose came out within
    1% of the WordPiece trainer's.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.BertNormalizer(lowercase=True)
    bpe.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    pieces_wanted = (vocab_size - len(BERT_SPECIALS)) // 2
    bpe.train_from_iterator(
        texts, trainers.BpeTrainer(vocab_size=pieces_wanted, min_frequency=2, show_progress=False)
    )
    ids = bpe.get_vocab()
    pieces = sorted(ids, key=ids.__getitem__)
    vocab = list(dict.fromkeys(BERT_SPECIALS + pieces + [f"##{piece}" for piece in pieces]))
    return vocab[:vocab_size]


def _model_config(spec: Spec) -> Any:
    import transformers

    model_class = getattr(transformers, spec.model_name)
    config = model_class.config_class(**spec.config)
    config.num_labels = spec.head_width
    return config


def _write_checkpoint(spec: Spec, hf_dir: Path, path: Path) -> None:
    import torch
    import transformers

    model_class = getattr(transformers, spec.model_name)
    with torch.random.fork_rng():
        torch.manual_seed(spec.seed)
        model = model_class(_model_config(spec))
    arch_args = {
        # The local folder instead of the hub id: Detoxify's unconditional
        # config_class.from_pretrained(model_type) then resolves offline.
        "model_type": str(hf_dir),
        "model_name": spec.model_name,
        "tokenizer_name": spec.tokenizer_name,
        "num_classes": spec.head_width,
    }
    checkpoint = {
        "config": {
            "name": f"random-{spec.base}-{spec.model}",
            "arch": {"args": arch_args},
            "dataset": {"args": {"classes": list(spec.classes)}},
        },
        "state_dict": model.state_dict(),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(checkpoint, tmp)
    tmp.replace(path)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _manifest_key(spec: Spec, hf_dir: Path) -> dict[str, Any]:
    return {
        "recipe": RECIPE_VERSION,
        "spec": json.loads(json.dumps(asdict(spec))),
        "hf_dir": str(hf_dir),
        "python": sys.version.split()[0],
    }


def build(model: str, cache_dir: Path = DEFAULT_CACHE, *, force: bool = False) -> Built:
    """Build (or reuse) one model's checkpoint, tokenizer and config under ``cache_dir``."""
    _offline()
    spec = SPECS[model]
    out = cache_dir.resolve() / model
    hf_dir = out / "hf"
    checkpoint = out / f"random-{spec.base}-{model}.ckpt"
    manifest_path = out / "manifest.json"
    key = _manifest_key(spec, hf_dir)
    if not force and manifest_path.is_file() and checkpoint.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("key") == key and manifest.get("size_bytes") == checkpoint.stat().st_size:
            return _built(spec, manifest, checkpoint, hf_dir)

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    texts = corpus()
    print(f"[{model}] training the tokenizer ({len(texts)} texts) ...", file=sys.stderr)
    tokenizer_size = train_tokenizer(spec, texts, hf_dir)
    _model_config(spec).save_pretrained(str(hf_dir))
    print(f"[{model}] writing random {spec.base} weights ...", file=sys.stderr)
    _write_checkpoint(spec, hf_dir, checkpoint)
    manifest = {
        "key": key,
        "checkpoint": checkpoint.name,
        "sha256": _sha256(checkpoint),
        "size_bytes": checkpoint.stat().st_size,
        "tokenizer_size": tokenizer_size,
        "tokenizer_json_sha256": _sha256(hf_dir / "tokenizer.json"),
        "corpus_words": sum(len(text.split()) for text in texts),
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return _built(spec, manifest, checkpoint, hf_dir)


def _built(spec: Spec, manifest: dict[str, Any], checkpoint: Path, hf_dir: Path) -> Built:
    return Built(
        model=spec.model,
        checkpoint=checkpoint,
        hf_dir=hf_dir,
        sha256=str(manifest["sha256"]),
        size_bytes=int(manifest["size_bytes"]),
        tokenizer_size=int(manifest["tokenizer_size"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("models", nargs="*", help=f"any of {', '.join(SPECS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.models) - set(SPECS)
    if unknown:
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; use {', '.join(SPECS)}")
    for model in args.models or list(SPECS):
        built = build(model, args.cache_dir, force=args.force)
        print(
            f"{model}: {built.checkpoint} ({built.size_bytes:,} B, sha256 {built.sha256}); "
            f"hf dir {built.hf_dir} (tokenizer {built.tokenizer_size} entries)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
