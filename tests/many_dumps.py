"""A library that takes seconds to load, honestly: many Daily Papers dumps of distinct papers.

Used where a test must watch a load in progress (the server's status route, the sidebar's bar).
"""

from __future__ import annotations

import random
from pathlib import Path

__all__ = ["write_days"]

WORDS = (
    "adaptive",
    "sparse",
    "attention",
    "gradient",
    "robust",
    "policy",
    "transformer",
    "diffusion",
    "memory",
    "retrieval",
    "agent",
    "reward",
    "graph",
    "neural",
    "kernel",
    "bayesian",
    "contrastive",
    "token",
    "vision",
    "language",
    "planning",
    "latent",
    "flow",
    "ensemble",
    "curriculum",
)


def write_days(folder: Path, days: int, per_day: int) -> int:
    """``days`` dumps (title/abstract line pairs) of ``per_day`` distinct papers each; returns how many papers.

    A file's first papers are the same whatever ``per_day``: writing more adds papers, keys stay.
    Paper ``i`` of day ``d`` is titled "Study d-i of …".
    """
    folder.mkdir(exist_ok=True)
    for day in range(days):
        rng = random.Random(day)
        lines = []
        for i in range(per_day):
            lines.append(f"Study {day}-{i} of " + " ".join(rng.choice(WORDS).capitalize() for _ in range(5)))
            sentences = (f"{rng.choice(WORDS).capitalize()} {' '.join(rng.choices(WORDS, k=12))}." for _ in range(4))
            lines.append(" ".join(sentences))
        (folder / f"day_{day:04d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return days * per_day
