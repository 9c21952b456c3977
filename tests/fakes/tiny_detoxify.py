"""Tiny Detoxify-compatible checkpoints (random BERT weights) so tests never need the real ones.

Two layouts, both loadable by the unchanged ``detoxify.Detoxify`` class fully offline:

* route B, :func:`build_tiny_detoxify`: a checkpoint plus an explicit ``huggingface_config_path``
  folder. The checkpoint names that folder as its base model, so Detoxify's unconditional
  ``from_pretrained(<base model>)`` call resolves locally instead of reaching the hub.
* route A, :func:`build_cached_layout`: the torch hub cache with a published file name plus a
  fake Hugging Face cache for the real base model id, as an air-gapped production host has them.

torch and transformers are imported inside the functions so that importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.detoxify_backend import KNOWN_CHECKPOINTS

FLAVOURS: dict[str, tuple[int, tuple[str, ...]]] = {
    # The raw Jigsaw 2018 names: Detoxify renames toxic/severe_toxic/identity_hate on load.
    "original": (6, ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")),
    # The real unbiased head is 16 wide; Detoxify reports only the first len(classes) columns.
    "unbiased": (
        16,
        (
            "toxicity",
            "severe_toxicity",
            "obscene",
            "identity_attack",
            "insult",
            "threat",
            "sexual_explicit",
        ),
    ),
}
"""Head width and checkpoint class names per flavour."""

_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_PUNCTUATION = list(".,!?;:'\"()-/&£%")
_LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
_DIGITS = [str(d) for d in range(10)]
_WORD_LINES = """
the a an and or but of to in on at for from with by about as into over after before than then
is are was were be been being am do does did done have has had will would can could should may
might must shall not no yes all any some every each more most less very too so just also only
i you he she it we they me him her us them my your his its our their this that these those there
here what which who whom whose when where why how if because while until again once
please thank thanks sorry hello hi dear regards good great bad terrible awful nice happy sad
council councillor councillors mayor cabinet committee officer officers staff service services
resident residents people community public local town village city borough district parish
road roads street streets lane pavement pothole potholes bin bins collection waste recycling
rubbish litter fly tipping park parks library libraries school schools bus buses parking car
cars traffic light lights streetlight planning permission application housing house houses
rent tax budget money cost costs pay paid fund funding meeting meetings consultation vote
fix fixed repair repaired clean cleaned report reported complaint complain email phone call
week weeks month months year years day days today yesterday tomorrow time still never always
new old big small long short free open closed broken dangerous safe late early
idiot idiots stupid useless disgrace corrupt liar liars rubbish shut hate kill die threat
"""
_WORDS = _WORD_LINES.split()
VOCAB: tuple[str, ...] = tuple(
    dict.fromkeys(
        _SPECIAL
        + _PUNCTUATION
        + _DIGITS
        + _LETTERS
        + [f"##{c}" for c in _LETTERS + _DIGITS]
        + _WORDS
    )
)
"""A hand-written WordPiece vocabulary: every lowercase word tokenizes without [UNK]."""

TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
"""Files that carry the tokenizer (which ones exist depends on the transformers version)."""


@dataclass(frozen=True)
class TinyDetoxify:
    """Paths of a tiny checkpoint, its Hugging Face folder, and the checkpoint's SHA-256."""

    checkpoint: Path
    hf_dir: Path
    sha256: str


def build_tiny_detoxify(out_dir: Path, flavour: str = "unbiased") -> TinyDetoxify:
    """Write ``<out_dir>/hf/`` and ``<out_dir>/tiny-<flavour>.ckpt`` (route B, explicit paths)."""
    hf_dir = out_dir / "hf"
    _write_hf_dir(hf_dir, flavour)
    # The base model named inside is the folder itself, so no hub id is ever looked up.
    checkpoint = _write_checkpoint(out_dir / f"tiny-{flavour}.ckpt", str(hf_dir), flavour)
    return TinyDetoxify(checkpoint=checkpoint, hf_dir=hf_dir, sha256=sha256_of(checkpoint))


def build_cached_layout(root: Path, model_type: str) -> dict[str, str]:
    """Build route A's caches under ``root`` and return the env vars (TORCH_HOME, HF_HOME) to set.

    The checkpoint carries the published file name but tiny BERT weights, so its SHA-256 does not
    match the release: callers must pass its real hash or expect the hash refusal. It names the
    real base model id, which resolves from the fake HF cache only when HF_HOME is set before
    transformers is imported (huggingface_hub freezes it), hence a subprocess.
    """
    known = KNOWN_CHECKPOINTS[model_type]
    flavour = "original" if model_type.startswith("original") else "unbiased"
    staging = root / "staging"
    _write_hf_dir(staging, flavour)

    hf_home = root / "hf-home"
    repo = hf_home / "hub" / f"models--{known.base_model.replace('/', '--')}"
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for item in staging.iterdir():
        shutil.copy2(item, snapshot / item.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)

    torch_home = root / "torch-home"
    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    _write_checkpoint(checkpoints / known.file_name, known.base_model, flavour)
    return {"TORCH_HOME": str(torch_home), "HF_HOME": str(hf_home)}


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _offline() -> None:
    # Tests must never reach a hub, even if the code under test forgets to say so.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _write_hf_dir(hf_dir: Path, flavour: str) -> None:
    _offline()
    from transformers import BertTokenizer

    head_width, _ = FLAVOURS[flavour]
    hf_dir.mkdir(parents=True, exist_ok=True)
    vocab_file = hf_dir / "vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    # Positional on purpose: transformers 5 silently ignores vocab_file= and builds an empty
    # tokenizer, the very failure the classifier guards against.
    tokenizer = BertTokenizer(str(vocab_file), model_max_length=512)
    if len(tokenizer) != len(VOCAB):
        raise RuntimeError(f"tiny tokenizer has {len(tokenizer)} entries, expected {len(VOCAB)}")
    tokenizer.save_pretrained(str(hf_dir))
    _config(head_width).save_pretrained(str(hf_dir))


def _config(head_width: int) -> Any:
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
        # Wider than BERT's 0.02 so random scores spread out and order mix-ups are visible.
        initializer_range=0.3,
    )
    config.num_labels = head_width  # a property; BertConfig's typed signature does not list it
    return config


def _write_checkpoint(path: Path, base_model: str, flavour: str) -> Path:
    _offline()
    import torch
    from transformers import BertForSequenceClassification

    head_width, classes = FLAVOURS[flavour]
    with torch.random.fork_rng():
        torch.manual_seed(1234)
        model = BertForSequenceClassification(_config(head_width))
    arch_args = {
        "model_type": base_model,
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": head_width,
    }
    config = {
        "name": f"tiny-{flavour}",
        "arch": {"args": arch_args},
        "dataset": {"args": {"classes": list(classes)}},
    }
    torch.save({"config": config, "state_dict": model.state_dict()}, path)
    return path
