"""The evaluation report: one self-contained HTML page, its plots embedded as PNG data URIs, so it
opens in a browser with no network and can be mailed or archived as one file."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from scoring_runtime.batch.evaluation import Evaluation
from scoring_runtime.core.errors import ConfigError

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3em .8em; text-align: right; }
th { background: #f3f3f3; } .plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
"""


def write_report(path: Path, evaluation: Evaluation, model: str, data: str) -> None:
    plt = _pyplot()
    plots = _classification_plots(evaluation) if evaluation.is_classification else _regression_plots(evaluation)
    figures = [(caption, _png(plt, draw)) for caption, draw in plots]
    path.write_text(_page(evaluation, model, data, figures), encoding="utf-8")


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        raise ConfigError("--report draws its plots with matplotlib: pip install 'scoring-runtime[report]'.") from None
    return plt


def _png(plt: Any, draw: Callable[[Any], None]) -> str:
    figure, axes = plt.subplots(figsize=(5.2, 4.2), dpi=100)
    try:
        draw(axes)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _classification_plots(evaluation: Evaluation) -> list[tuple[str, Callable[[Any], None]]]:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    y, proba, classes = evaluation.actual, evaluation.predicted, evaluation.classes
    shown = [1] if len(classes) == 2 else list(range(len(classes)))

    def roc(axes: Any) -> None:
        for k in shown:
            if 0 < (y == k).sum() < len(y):
                fpr, tpr, _ = roc_curve(y == k, proba[:, k])
                axes.plot(fpr, tpr, label=f"class {classes[k]}")
        axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
        _labels(axes, "false positive rate", "true positive rate", "ROC curve")

    def precision_recall(axes: Any) -> None:
        for k in shown:
            if (y == k).any():
                precision, recall, _ = precision_recall_curve(y == k, proba[:, k])
                axes.plot(recall, precision, label=f"class {classes[k]}")
        _labels(axes, "recall", "precision", "Precision-recall curve")

    def confusion(axes: Any) -> None:
        matrix = np.array(evaluation.metrics["confusion_matrix"]["matrix"])
        axes.imshow(matrix, cmap="Blues")
        for (i, j), count in np.ndenumerate(matrix):
            colour = "white" if count > matrix.max() / 2 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=colour)
        axes.set_xticks(range(len(classes)), classes)
        axes.set_yticks(range(len(classes)), classes)
        axes.set_xlabel("predicted")
        axes.set_ylabel("actual")
        axes.set_title("Confusion matrix")

    def calibration(axes: Any) -> None:
        for k in shown:
            if 0 < (y == k).sum() < len(y):
                observed, predicted = calibration_curve(y == k, np.clip(proba[:, k], 0, 1), n_bins=10)
                axes.plot(predicted, observed, marker="o", label=f"class {classes[k]}")
        axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
        _labels(axes, "mean predicted probability", "fraction of positives", "Calibration")

    return [
        ("ROC curve", roc),
        ("Precision-recall", precision_recall),
        ("Confusion matrix", confusion),
        ("Calibration", calibration),
    ]


def _regression_plots(evaluation: Evaluation) -> list[tuple[str, Callable[[Any], None]]]:
    actual, predicted = evaluation.actual, evaluation.predicted

    def scatter(axes: Any) -> None:
        axes.scatter(actual, predicted, s=6, alpha=0.5)
        low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
        axes.plot([low, high], [low, high], linestyle=":", color="grey")
        _labels(axes, "actual", "predicted", "Predicted vs actual", legend=False)

    def residuals(axes: Any) -> None:
        axes.scatter(predicted, actual - predicted, s=6, alpha=0.5)
        axes.axhline(0, linestyle=":", color="grey")
        _labels(axes, "predicted", "residual (actual - predicted)", "Residuals", legend=False)

    return [("Predicted vs actual", scatter), ("Residuals", residuals)]


def _labels(axes: Any, x: str, y: str, title: str, *, legend: bool = True) -> None:
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(title)
    if legend and axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize="small")


def _page(evaluation: Evaluation, model: str, data: str, figures: list[tuple[str, str]]) -> str:
    scalars = {k: v for k, v in evaluation.metrics.items() if not isinstance(v, dict | list)}
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_shown(v))}</td></tr>" for k, v in scalars.items())
    images = "".join(
        f'<figure><img alt="{html.escape(c)}" src="data:image/png;base64,{png}"></figure>' for c, png in figures
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    metrics = html.escape(json.dumps({k: v for k, v in evaluation.metrics.items() if k != "roc_curve"}, indent=2))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Evaluation of {html.escape(model)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Evaluation of {html.escape(model)}</h1>"
        f"<p>On {html.escape(data)}, {evaluation.metrics['records']} labelled records; written {stamp}.</p>"
        f'<h2>Metrics</h2><table>{rows}</table><h2>Plots</h2><div class="plots">{images}</div>'
        f"<h2>All values</h2><pre>{metrics}</pre></body></html>\n"
    )


def _shown(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else "-" if value is None else str(value)
