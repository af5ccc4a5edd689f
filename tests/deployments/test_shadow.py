"""Challenger comparisons: cell differences, class agreement, and what cannot be compared."""

from __future__ import annotations

import numpy as np

from scoring_runtime.deployments.shadow import _compare


def test_differences_and_agreement_of_two_classifiers():
    champion = np.array([[0.9, 0.1], [0.4, 0.6]])
    challenger = np.array([[0.7, 0.3], [0.6, 0.4]])
    comparison = _compare(0.001, champion, challenger, classifier=True)
    assert comparison.cells == 4 and np.isclose(comparison.abs_diff_sum, 0.2 + 0.2 + 0.2 + 0.2)
    assert comparison.agreed_rows == 1 and comparison.rows == 2


def test_regressions_have_no_agreement_and_missing_cells_are_left_out():
    comparison = _compare(0.001, np.array([[1.0], [np.nan]]), np.array([[1.5], [2.0]]), classifier=False)
    assert comparison.agreed_rows is None and comparison.cells == 1 and comparison.abs_diff_sum == 0.5


def test_outputs_of_another_shape_are_not_compared():
    comparison = _compare(0.001, np.zeros((2, 2)), np.zeros((2, 3)), classifier=True)
    assert comparison.cells == 0 and comparison.agreed_rows is None
