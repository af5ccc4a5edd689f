"""Which variant of an A/B test answers a request: a weighted draw, or a sticky one for a route key.

A route key is hashed (SHA-256, so every worker and every restart agrees) to a point on the
weights' line; without one, a fresh random point is drawn.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random


class WeightedRoute:
    def __init__(self, weights: dict[str, int]) -> None:
        self.names = tuple(weights)
        self._bounds = tuple(itertools.accumulate(weights.values()))
        self.total = self._bounds[-1]
        self._random = random.Random()

    def pick(self, route_key: str | None = None) -> str:
        point = self._random.randrange(self.total) if route_key is None else _hashed(route_key) % self.total
        return self.names[bisect.bisect_right(self._bounds, point)]


def _hashed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
