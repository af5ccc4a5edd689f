"""A stand-in for `daimojo.model`, because no Driverless AI license exists here.

It mirrors the documented surface of daimojo 2.9.2's `model` class: the attributes `uuid`,
`mojo_version`, `created_time`, `missing_values`, `feature_names`, `feature_types`,
`output_names`, `output_types`, `has_treeshap`, `dai_version`, `transformed_names`,
`supported_ops` (a namedtuple of prediction/interval/pred_contribs/pred_contribs_original), and
`predict(pydt, pred_contribs=False, pred_contribs_original=False, interval=False)` taking and
returning a `datatable.Frame`, with DAI's output naming: `<target>.<class>` probabilities,
`<target>.lower`/`.upper` bounds, and `<feature>.<class>` contribution columns for multinomial
models, as H2O's own DAI scorer parses them. Its numbers come from a small softmax (or linear)
model whose contributions add up exactly, so the mapping can be checked. The real pipelines are
exercised by test_dai_mojo's license tests and, with a license, by its integration test.
"""

from __future__ import annotations

from collections import namedtuple

import datatable
import numpy as np

SupportedOps = namedtuple("SupportedOps", ["prediction", "interval", "pred_contribs", "pred_contribs_original"])
WEIGHTS = {"MinTemp": 0.2, "Sunshine": -0.3, "Humidity3pm": 0.05}
GUST = {"N": 0.5, "S": -0.5}


class FakePipeline:
    def __init__(
        self, classes: tuple[str, ...] = ("No", "Yes", "Maybe"), ops: tuple[bool, ...] = (True, True, True, True)
    ):
        self.uuid = "fake-0001"
        self.mojo_version = "2.0"
        self.created_time = "Tue Nov 24 00:00:00 2026"
        self.missing_values = ["", "?", "None", "unknown", "nan", "NA", "N/A"]
        self.feature_names = ["MinTemp", "Sunshine", "WindGustDir", "Humidity3pm"]
        self.feature_types = ["float64", "float32", "string", "int32"]
        self.classes = classes
        self.output_names = [f"RainTomorrow.{c}" for c in classes] if classes else ["Rainfall"]
        self.output_types = ["float64"] * len(self.output_names)
        self.has_treeshap = True
        self.dai_version = "1.10.6"
        self.transformed_names = ["0_MinTemp", "1_Sunshine", "2_CVTE:WindGustDir", "3_Humidity3pm"]
        self.supported_ops = SupportedOps(*ops)
        self.calls: list[dict] = []

    def predict(self, pydt, pred_contribs=False, pred_contribs_original=False, interval=False, debug=False):
        if not isinstance(pydt, datatable.Frame):
            raise RuntimeError("datatable.Frame expected!")
        missing = [n for n in self.feature_names if n not in pydt.names]
        if missing:
            raise RuntimeError("Column(s) missing: " + "; ".join(missing))
        self.calls.append({"contribs": pred_contribs, "original": pred_contribs_original, "interval": interval})
        parts = self._parts(pydt)  # (n, features), original features
        n = parts.shape[0]
        k = max(len(self.classes), 1)
        shifts = np.arange(k, dtype=np.float64) * 0.3  # per-class bias
        if pred_contribs:
            names = list(self.feature_names) if pred_contribs_original else list(self.transformed_names)
            names = [*names, "bias"]
            columns = {}
            for c, label in enumerate(self.classes or ("",)):
                scale = 1.0 + 0.5 * c
                block = np.hstack([parts * scale, np.full((n, 1), shifts[c])])
                for j, name in enumerate(names):
                    columns[f"contrib_{name}.{label}" if len(self.classes) > 2 else f"contrib_{name}"] = block[:, j]
                if len(self.classes) <= 2:
                    break
            return datatable.Frame(columns)
        margins = np.stack([parts.sum(axis=1) * (1.0 + 0.5 * c) + shifts[c] for c in range(k)], axis=1)
        if self.classes:
            exp = np.exp(margins - margins.max(axis=1, keepdims=True))
            values = exp / exp.sum(axis=1, keepdims=True)
        else:
            values = margins[:, :1]
        columns = {name: values[:, i] for i, name in enumerate(self.output_names)}
        if interval and not self.classes:
            columns["Rainfall.lower"] = values[:, 0] - 1.0
            columns["Rainfall.upper"] = values[:, 0] + 1.0
        return datatable.Frame(columns)

    def _parts(self, pydt) -> np.ndarray:
        table = pydt.to_dict()
        numbers = [np.nan_to_num(np.array(table[f], dtype=np.float64)) * w for f, w in WEIGHTS.items()]
        gust = np.array([GUST.get(v, 0.0) for v in table["WindGustDir"]])
        return np.stack([numbers[0], numbers[1], gust, numbers[2]], axis=1)
