"""GBM and DRF contributions from the helper's TreeSHAP tables: the values of genmodel's own
TreeSHAP, tree by tree and for the whole model, or genmodel's TreeSHAP where the tables cannot be made."""

from __future__ import annotations

import jpype
import numpy as np
import pytest

from scoring_runtime.core.types import ShapleyKind
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.options import LoadOptions
from tests.runtimes.h2o3.test_flat_forest import _noisy
from tests.runtimes.h2o3.test_mojo import FIXTURES, _frame

EXPLAINED = ["gbm_regression", "gbm_binomial", "drf_regression", "drf_binomial"]
TABLES = "TreeSHAP tables for"


def _contributions_path(scorer) -> str:
    """Which code explains the model; made at its first request for contributions."""
    assert scorer._batch.contributionsPath() is None
    scorer.contributions(_frame(scorer, scorer.info.name), ShapleyKind.TRANSFORMED)
    return str(scorer._batch.contributionsPath())


def _tree_shap(nodes):
    return jpype.JClass("hex.genmodel.algos.tree.TreeSHAP")(nodes, nodes, 0)


def _tables(nodes, budget: int = 10**9):
    return jpype.JClass("ai.scoringruntime.TreeShapTable").of(nodes, budget)


def _by_tables(table, row: np.ndarray, width: int) -> np.ndarray:
    phi = jpype.JArray(jpype.JDouble)(width + 1)
    table.add(jpype.JArray(jpype.JDouble)(row), phi, jpype.JArray(jpype.JInt)(int(table.nodeCount())))
    return np.array(phi) + np.eye(width + 1)[-1] * table.expected()


def _by_genmodel(nodes, row: np.ndarray, width: int) -> np.ndarray:
    out = _tree_shap(nodes).calculateContributions(
        jpype.JArray(jpype.JDouble)(row), jpype.JArray(jpype.JFloat)(width + 1)
    )
    return np.array(out, dtype=np.float64)


def _close(tables: np.ndarray, genmodel: np.ndarray) -> bool:
    """genmodel works in float, whose rounding grows with a path's length (a DRF's 20 levels: ~1e-6
    of the row's largest value): equal within 1e-5 of it, the API's tolerance."""
    return bool(np.abs(tables - genmodel).max() <= 1e-5 * max(1.0, np.abs(genmodel).max()))


@pytest.mark.parametrize("name", EXPLAINED)
def test_tree_models_are_explained_from_tables_equal_to_genmodels_tree_shap(name):
    fast = load_scorer(FIXTURES / f"{name}.zip")
    exact = load_scorer(FIXTURES / f"{name}.zip", LoadOptions(accelerate=False))
    assert _contributions_path(fast).startswith(TABLES)
    assert _contributions_path(exact) == "genmodel's TreeSHAP, tree by tree, summed in double"
    frame = _noisy(fast, _frame(fast, name), 3000)
    for kind in ShapleyKind:
        ours = fast.contributions(frame, kind).groups[0].values
        theirs = exact.contributions(frame, kind).groups[0].values
        scale = np.maximum(1.0, np.abs(theirs).max(axis=1, keepdims=True))
        assert (np.abs(ours - theirs) <= 1e-5 * scale).all(), kind


@pytest.mark.parametrize("name", ["gbm_binomial", "drf_regression"])
def test_each_trees_tables_give_its_genmodel_tree_shap(name):
    scorer = load_scorer(FIXTURES / f"{name}.zip")
    width = len(scorer.schema.inputs)
    rows = scorer._encode(_noisy(scorer, _frame(scorer, name), 50))
    graph = scorer._model.computeGraph(-1)
    for tree in graph.subgraphArray:
        nodes = tree.nodesArray.toArray(jpype.JArray(jpype.JClass("hex.genmodel.algos.tree.SharedTreeNode"))(0))
        table = _tables(nodes)
        for row in rows:
            assert _close(_by_tables(table, row, width), _by_genmodel(nodes, row, width))


def _chain(features: list[int]):
    """A tree that splits on `features` in turn down its right side, each left child a leaf."""
    subgraph = jpype.JClass("hex.genmodel.algos.tree.SharedTreeGraph")().makeSubgraph("chain")
    node = subgraph.makeRootNode()
    weight = 1024.0
    for depth, feature in enumerate(features):
        node.setCol(feature, f"x{feature}")
        node.setSplitValue(float(depth % 3))
        node.setWeight(weight)
        node.setInclusiveNa(depth % 2 == 0)
        left = subgraph.makeLeftChildNode(node)
        left.setPredValue(float(depth + 1))
        left.setWeight(weight * 0.3)
        node = subgraph.makeRightChildNode(node)
        weight *= 0.7
    node.setPredValue(-5.0)
    node.setWeight(weight)
    return subgraph.nodesArray.toArray(jpype.JArray(jpype.JClass("hex.genmodel.algos.tree.SharedTreeNode"))(0))


@pytest.mark.parametrize(
    "features", [[0, 1, 2, 3, 4, 5], [0, 1, 0, 2, 1, 0], [3, 3, 3]], ids=["distinct", "repeated", "one feature"]
)
def test_paths_with_distinct_and_repeated_features(features):
    load_scorer(FIXTURES / "gbm_binomial.zip")  # the JVM, with the helper on its class path
    nodes = _chain(features)
    rng = np.random.default_rng(1)
    for _ in range(200):
        row = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, np.nan], size=6)
        assert _close(_by_tables(_tables(nodes), row, 6), _by_genmodel(nodes, row, 6))


def test_trees_past_the_path_limit_or_the_budget_keep_genmodels_tree_shap():
    load_scorer(FIXTURES / "gbm_binomial.zip")
    limit = int(jpype.JClass("ai.scoringruntime.TreeShapTable").MAX_PATH_FEATURES)
    assert _tables(_chain(list(range(limit)))) is not None
    assert _tables(_chain(list(range(limit + 1)))) is None
    assert _tables(_chain([0, 1, 2]), budget=10) is None
