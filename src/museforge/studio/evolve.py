"""Interactive evolution: the person picks favourites, the next generation mutates their
settings. Continuous settings move by a Gaussian step (15 % of their range), choices switch at
random, each with probability ``rate``; settings that set a work's size or length (and models)
never mutate, so a generation costs what its parents did."""

from __future__ import annotations

import copy
import random
from typing import Any

FIXED = frozenset(
    {
        "size",
        "seconds",
        "steps",
        "bars",
        "detail",
        "model",
        "lora",
        "model_config",
        "negative",
        "max_new_tokens",
        "form",
    }
)
STEP = 0.15


def mutate(request: dict[str, Any], rng: random.Random, rate: float) -> dict[str, Any]:
    """A child of ``request``: mutated parameters and a new seed (its own per-modality seeds dropped)."""
    from museforge.engines import describe, get_engine
    from museforge.runtime import MAX_SEED

    params = copy.deepcopy(request.get("params") or {})
    for modality, name in (request.get("engines") or {}).items():
        current = {**params.get(modality, {}), **params.get(name, {})}
        for info in describe(get_engine(name).Params):
            if info.name in FIXED or rng.random() >= rate:
                continue
            value = current.get(info.name, info.default)
            if info.choices:
                new: Any = rng.choice(info.choices)
            elif info.type is float and info.range:
                low, high = info.range
                new = round(min(high, max(low, float(value) + rng.gauss(0.0, STEP * (high - low)))), 4)
            else:
                continue
            params.setdefault(modality, {})[info.name] = new
            params.get(name, {}).pop(info.name, None)
    return {**request, "params": params, "seed": rng.randrange(MAX_SEED + 1), "seeds": {}}
