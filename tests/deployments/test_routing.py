"""A/B draws: shares follow the weights; a route key always lands on the same variant."""

from __future__ import annotations

import collections

from scoring_runtime.deployments.routing import WeightedRoute


def test_random_draws_follow_the_weights():
    route = WeightedRoute({"a": 70, "b": 30})
    counts = collections.Counter(route.pick() for _ in range(20_000))
    assert abs(counts["a"] / 20_000 - 0.7) < 0.02


def test_keys_are_sticky_across_instances_and_spread_by_weight():
    first, second = WeightedRoute({"a": 1, "b": 3}), WeightedRoute({"a": 1, "b": 3})
    keys = [f"user-{i}" for i in range(4000)]
    picks = [first.pick(k) for k in keys]
    assert picks == [second.pick(k) for k in keys]
    assert abs(picks.count("b") / len(keys) - 0.75) < 0.03
