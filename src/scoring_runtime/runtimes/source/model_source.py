"""The `model_source` runtime: ModelOp's model definition (Python with smart tags, attachments
and Avro schemas) behind the `Scorer` interface.

The source runs as a module of its own whose `open` resolves relative paths in the model folder,
so `init` finds its attachments without the process's working directory changing under the other
models and threads. `score` sees one record at a time, as ModelOp calls it.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import itertools
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from scoring_runtime.core.errors import BadCell, ModelFailed, ModelLoadError, OutputRejected
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.scorer import Scorer
from scoring_runtime.core.types import Capability, DataType, Field, ModelInfo, ModelSchema, ScoreResult, ScoringType
from scoring_runtime.runtimes.archives import extract_zip
from scoring_runtime.runtimes.artifacts import stable_id
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.runtimes.source.avro import RecordSchema, Rejected, convert_column, output_columns, read_schema
from scoring_runtime.runtimes.source.tags import entry_points, source_file

INPUT_SCHEMA = "input_schema.avsc"
OUTPUT_SCHEMA = "output_schema.avsc"
OUTPUT_DIR = "outputDir"
_modules = itertools.count()


class ModelSource(Scorer):
    def __init__(
        self, path: Path, options: LoadOptions, *, output_dir: Path | None = None, run_init: bool = True
    ) -> None:
        """`output_dir`: where the source's `outputDir/` goes; a training job gives it, and runs no
        `init` (a model not yet trained has no attachments to open)."""
        self._extracted = extract_zip(path) if path.is_file() else None
        self.folder = _model_folder(self._extracted) if self._extracted else path
        try:
            self._load(path, output_dir, run_init)
        except BaseException:
            self.close()
            raise

    def _load(self, path: Path, output_dir: Path | None, run_init: bool) -> None:
        source = source_file(self.folder)
        if source is None:
            raise ModelLoadError(f"{path} holds no single top-level .py file with a '# modelop.score' tag.")
        tags = entry_points(source)
        self.inputs = _optional_schema(self.folder / INPUT_SCHEMA)
        self.outputs = _optional_schema(self.folder / OUTPUT_SCHEMA)
        self._module_name = f"scorer_model_source_{next(_modules)}"
        self.module = _run_module(source, self._module_name, self.folder, output_dir)
        self.functions: dict[str, Callable[..., Any]] = {tag: getattr(self.module, name) for tag, name in tags.items()}
        if run_init and "init" in self.functions:
            _call_init(self.functions["init"], source)
        self._lock = threading.Lock()
        self._learned: tuple[str, ...] | None = None
        outputs = tuple(f.field for f in self.outputs.fields) if self.outputs else ()
        self.schema = _model_schema(self.inputs, outputs)
        self.capabilities = frozenset({Capability.SCORE})
        self.info = ModelInfo(
            name=path.stem if path.is_file() else path.name,
            description=f"ModelOp model source {source.name} ({', '.join(sorted(tags))})",
            runtime="model_source",
            artifact_id=stable_id(path),
        )

    def score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        calls = map(self.functions["score"], self.records(frame))  # each answer taken as it is given
        answers = [answer if type(answer) is dict else _one_record(answer) for answer in calls]
        columns = self._columns(answers)  # first: it may learn the output fields
        return ScoreResult(_matrix(self.schema.outputs, columns, frame.rows))

    def records(self, frame: Frame) -> list[dict[str, Any]]:
        """The frame's rows as the input records `score` takes, converted by the input schema."""
        names = list(frame)
        columns: list[list[Any]] = []
        by_name = {f.name: f for f in self.inputs.fields} if self.inputs else {}
        for name in names:
            texts = frame[name].tolist()
            field = by_name.get(name)
            try:
                columns.append(convert_column(field, texts) if field else texts)
            except Rejected as exc:
                raise BadCell(exc.row, "Row ", f" was rejected by schema: {exc}.") from None
        if not names:
            return [{} for _ in range(frame.rows)]
        return list(map(_record_builder(tuple(names)), *columns))

    def metrics(self, data: pd.DataFrame) -> dict[str, Any]:
        """The source's own `# modelop.metrics` on labelled records (the caller checked it has one)."""
        answer = self.functions["metrics"](data)
        if inspect.isgenerator(answer):
            answer = next(answer, None)
        if not isinstance(answer, dict):
            raise ModelFailed(f"The model's metrics function returned a {type(answer).__name__}, not a dict.")
        return answer

    def train(self, data: pd.DataFrame) -> None:
        self.functions["train"](data)

    def close(self) -> None:
        sys.modules.pop(getattr(self, "_module_name", ""), None)
        if self._extracted is not None:
            shutil.rmtree(self._extracted, ignore_errors=True)

    def _columns(self, answers: list[dict[str, Any]]) -> list[list[Any]]:
        """The output records as one column per output field, checked by the output schema, or
        against the fields of the first output record when there is none."""
        if self.outputs is not None:
            try:
                return output_columns(self.outputs, answers)
            except Rejected as exc:
                raise OutputRejected(
                    exc.row, "The model's output for row ", f" was rejected by the output schema: {exc}."
                ) from None
        if answers and self._learned is None:
            with self._lock:
                if self._learned is None:
                    self._learn(answers[0])
        learned = self._learned or ()
        for row, answer in enumerate(answers):
            if tuple(answer) != learned:
                raise ModelFailed(
                    f"The model's output for row {row} has the fields {list(answer)}, not {list(learned)} "
                    "as its first output record had; give the model an output schema, or keep the fields the same."
                )
        return [[answer[name] for answer in answers] for name in learned]

    def _learn(self, record: dict[str, Any]) -> None:
        """Without an output schema the first output record names the output fields."""
        fields = tuple(Field(name, _data_type(value)) for name, value in record.items())
        self._learned = tuple(record)
        self.schema = _model_schema(self.inputs, fields)


@functools.lru_cache(maxsize=64)
def _record_builder(names: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """A function of one value per field that returns the record: a dict display, generated
    as `dataclasses` generates its methods, builds a record three times faster than
    `dict(zip(names, values))`, which is a third of a trivial model source's cost. The names are
    written as `repr` literals, so no field name can be code."""
    arguments = ", ".join(f"_{i}" for i in range(len(names)))
    items = ", ".join(f"{name!r}: _{i}" for i, name in enumerate(names))
    return eval(f"lambda {arguments}: {{{items}}}")


def _model_folder(extracted: Path) -> Path:
    """A zip holds the model folder's files at its top, or the folder itself."""
    entries = list(extracted.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return extracted


def _one_record(answer: Any) -> dict[str, Any]:
    """What `score` gave for one record, other than a plain dict: a list of one, or a generator
    yielding a dict or a list of one."""
    if inspect.isgenerator(answer) or isinstance(answer, list | tuple):
        items = list(answer)
        if len(items) == 1 and isinstance(items[0], list | tuple):
            items = list(items[0])
        if len(items) != 1:
            raise ModelFailed(f"The model's score function gave {len(items)} records for one input record.")
        answer = items[0]
    if not isinstance(answer, dict):
        raise ModelFailed(f"The model's score function returned a {type(answer).__name__}, not a dict.")
    return answer


def _optional_schema(path: Path) -> RecordSchema | None:
    return read_schema(path) if path.is_file() else None


def _model_schema(inputs: RecordSchema | None, outputs: tuple[Field, ...]) -> ModelSchema:
    numeric = [f for f in outputs if f.data_type.is_numeric]
    kind = ScoringType.REGRESSION if len(outputs) == 1 and numeric else ScoringType.CLASSIFICATION
    return ModelSchema(
        inputs=tuple(f.field for f in inputs.fields) if inputs else (),
        outputs=outputs,
        targets=(),
        scoring_type=kind,
        free_form=True,
    )


def _data_type(value: Any) -> DataType:
    if isinstance(value, bool | np.bool_):
        return DataType.BOOL
    if isinstance(value, int | np.integer):
        return DataType.INT64
    if isinstance(value, float | np.floating):
        return DataType.FLOAT64
    return DataType.STR


def _matrix(fields: tuple[Field, ...], columns: list[list[Any]], rows: int) -> np.ndarray:
    """Floating-point outputs as the float64 matrix every runtime gives (None = NaN); otherwise
    an object matrix holding the numbers, texts and booleans as the model gave them (an id stays
    `7`)."""
    if all(f.data_type in (DataType.FLOAT32, DataType.FLOAT64) for f in fields):
        return np.array(columns, dtype=np.float64).reshape(len(fields), rows).T
    matrix = np.empty((rows, len(fields)), dtype=object)
    for index, column in enumerate(columns):
        matrix[:, index] = column
    return matrix


def _run_module(source: Path, name: str, folder: Path, output_dir: Path | None) -> ModuleType:
    """The source compiled and run as a module of its own. Not imported: an import would write
    `__pycache__/` into the model folder, changing the artifact's digest (and its model id) after
    its first load, and failing on a read-only volume."""
    module = ModuleType(name)
    module.__file__ = str(source)
    module.open = _folder_open(folder, output_dir)  # type: ignore[attr-defined]
    sys.modules[name] = module  # dataclasses and pickles look their module up by name
    try:
        exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), module.__dict__)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ModelLoadError(f"The model source {source.name} failed as it was imported ({_said(exc)}).") from exc
    return module


def _call_init(init: Callable[[], Any], source: Path) -> None:
    try:
        answer = init()
        if inspect.isgenerator(answer):
            list(answer)
    except Exception as exc:
        raise ModelLoadError(f"The init function of the model source {source.name} failed ({_said(exc)}).") from exc


def _said(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def _folder_open(folder: Path, output_dir: Path | None) -> Callable[..., Any]:
    """`open` for the source's module: a relative path names a file in the model folder, or under
    `outputDir/` one in the training job's output folder."""

    def open_here(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike) and not os.path.isabs(file):
            relative = Path(file)
            if output_dir is not None and relative.parts and relative.parts[0] == OUTPUT_DIR:
                file = output_dir.joinpath(*relative.parts[1:])
            else:
                file = folder / relative
        return builtins.open(file, *args, **kwargs)

    return open_here


SCORER = ModelSource
