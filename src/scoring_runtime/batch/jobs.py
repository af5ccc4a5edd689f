"""`scorer job score|metrics|train`: a model's batch jobs, as ModelOp runs them, for every runtime.

Scoring goes through the same core as a request. A record the input schema (or the reader)
refuses is set aside with its reason instead of failing the job, and an output record the output
schema refuses is left out: the piece holding it is scored again without it, so one bad record
costs a re-score of its chunk, not the job.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scoring_runtime.batch.evaluation import Evaluation, evaluate
from scoring_runtime.batch.files import AtomicFile, TableWriter, count_rows, kind_of, read_chunks, read_table
from scoring_runtime.batch.progress import progress_bar
from scoring_runtime.batch.score import check_fields, chunk_frame, copied_columns
from scoring_runtime.core.errors import BadCell, ConfigError, ModelFailed, OutputRejected
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.text import value_columns
from scoring_runtime.runtimes import resolve_runtime
from scoring_runtime.runtimes.artifacts import single_artifact_in
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.runtimes.source.model_source import OUTPUT_DIR, ModelSource


@dataclass
class Scoring:
    """What a scoring pass found, besides the scores."""

    scored: int = 0
    dropped: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        line = f"scored {self.scored} records, rejected {len(self.rejected)}"
        return line + (f", dropped {self.dropped} by the output schema" if self.dropped else "")


@dataclass(frozen=True)
class Piece:
    """Scored rows of a chunk: their cells, their predictions, and where the first one is in the file."""

    fields: list[str]
    rows: list[list[Any]]
    predictions: np.ndarray


def rejects_path(out: Path) -> Path:
    return out.with_name(out.name + ".rejected.jsonl")


def score_job(
    model: ServedModel, source: Path, out: Path, *, include: list[str], chunk_rows: int, quiet: bool
) -> Scoring:
    """Score every record of `source` into `out` (and the refused ones into `out`.rejected.jsonl);
    `include`: input fields copied (as text) before the outputs, to tell the records apart."""
    kind_of(out)
    output, rejects = AtomicFile(out), AtomicFile(rejects_path(out))
    result = Scoring()
    try:
        writer = TableWriter(output, set())
        for piece in _scored_pieces(model, source, chunk_rows, result, quiet, include):
            copied = copied_columns(piece.fields, piece.rows, include)
            columns = copied + value_columns(piece.predictions)
            writer.numeric = {f.name for f in model.schema.outputs if f.data_type.is_numeric}
            writer.write([*include, *model.schema.output_names], [list(r) for r in zip(*columns, strict=True)])
        writer.close()
        with rejects.partial.open("w", encoding="utf-8") as handle:
            for item in result.rejected:
                handle.write(json.dumps(item, default=str) + "\n")
        output.commit()
        if result.rejected:
            rejects.commit()
        else:
            rejects.discard()
            rejects.path.unlink(missing_ok=True)  # a previous run's rejects would describe other input
    except BaseException:
        output.discard()
        rejects.discard()
        raise
    return result


def metrics_job(
    model: ServedModel, source: Path, out: Path, *, target: str | None, report: Path | None, quiet: bool
) -> dict[str, Any]:
    """The model source's own metrics function, or (another model, or `target` given) the
    built-in evaluation against the label column, written to `out` (and `report`)."""
    scorer = model.scorer
    own = isinstance(scorer, ModelSource) and "metrics" in scorer.functions
    if own and target is None:
        if report is not None:
            raise ConfigError("--report draws the built-in evaluation; give --target COLUMN with it.")
        metrics = scorer.metrics(read_table(source))  # type: ignore[union-attr]
        _write_json(out, metrics)
        return metrics
    label = target or (model.schema.targets[0].name if model.schema.targets else None)
    if label is None:
        raise ConfigError("This model names no target field; give --target COLUMN, the label column of the input.")
    evaluation = _evaluate(model, source, label, quiet)
    if report is not None:
        from scoring_runtime.batch.report import write_report

        atomic = AtomicFile(report)
        try:
            write_report(atomic.partial, evaluation, model.info.name, source.name)
            _write_json(out, evaluation.metrics)
            atomic.commit()
        except BaseException:
            atomic.discard()
            raise
    else:
        _write_json(out, evaluation.metrics)
    return evaluation.metrics


def train_job(model_path: Path, options: LoadOptions, source: Path, output_dir: Path) -> list[Path]:
    """Run the model source's train function with `outputDir/` a fresh folder, moved into
    `output_dir` once it has finished; returns the files it wrote. No `init` runs first: a model
    being trained may have no attachments yet."""
    path = (single_artifact_in(model_path) or model_path).resolve()
    output_dir = output_dir.resolve()
    if resolve_runtime(path, options) != "model_source":
        raise ConfigError(f"{model_path} is not a model source; only a model source's train function can be run.")
    if not output_dir.parent.is_dir():
        raise ConfigError(f"The folder {output_dir.parent} for --output-dir does not exist.")
    data = read_table(source)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", suffix=".partial", dir=output_dir.parent))
    scorer = ModelSource(path, options, output_dir=staging, run_init=False)
    try:
        if "train" not in scorer.functions:
            raise ConfigError(f"The model source in {model_path} has no function tagged '# modelop.train'.")
        with _working_folder(scorer.folder, staging):
            _guarded(lambda: scorer.train(data))
        written = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
        output_dir.mkdir(exist_ok=True)
        for relative in written:
            (output_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, output_dir / relative)
    finally:
        scorer.close()
        shutil.rmtree(staging, ignore_errors=True)
    return [output_dir / relative for relative in written]


def _guarded(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception as exc:
        raise ModelFailed(f"The model's train function failed ({type(exc).__name__}: {exc}).") from exc


@contextmanager
def _working_folder(model_folder: Path, output: Path) -> Iterator[None]:
    """The job's working folder while `train` runs: the model folder's files and `outputDir/`,
    so libraries that open files by relative path (joblib, pandas) find them too. A job is one
    model in one process, so changing the working directory harms nothing here."""
    previous = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="scorer-train-") as folder:
        for entry in model_folder.iterdir():
            (Path(folder) / entry.name).symlink_to(entry)
        (Path(folder) / OUTPUT_DIR).symlink_to(output, target_is_directory=True)
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(previous)


def _evaluate(model: ServedModel, source: Path, label: str, quiet: bool) -> Evaluation:
    predictions, actual = [], []
    for piece in _scored_pieces(model, source, 10_000, Scoring(), quiet):
        if label not in piece.fields:
            raise ConfigError(f"{source.name} has no column '{label}' to evaluate the model against.")
        position = piece.fields.index(label)
        predictions.append(piece.predictions)
        actual.extend(row[position] for row in piece.rows)
    if not predictions:
        raise ConfigError(f"{source.name} holds no records to evaluate the model on.")
    return evaluate(model.schema, np.concatenate(predictions), actual, label)


def _scored_pieces(
    model: ServedModel, source: Path, chunk_rows: int, result: Scoring, quiet: bool, include: list[str] | None = None
) -> Iterator[Piece]:
    if chunk_rows < 1:
        raise ConfigError(f"--chunk-rows is {chunk_rows}; it must be 1 or more.")
    total = count_rows(source)
    offset = 0
    with progress_bar(total, "scoring", quiet) as advance:
        for fields, rows in read_chunks(source, chunk_rows):
            check_fields(model, source, fields, include or [])
            for piece in _pieces(model, fields, rows, offset, result):
                result.scored += len(piece.rows)
                yield piece
            offset += len(rows)
            advance(len(rows))


def _pieces(model: ServedModel, fields: list[str], rows: list[list[Any]], offset: int, result: Scoring) -> list[Piece]:
    """Score `rows` (the first at `offset` in the file); a refused record is set aside and the
    rows either side of it are scored again."""
    if not rows:
        return []
    try:
        frame, _ = chunk_frame(model, fields, rows)
        return [Piece(fields, rows, model.score_now(frame).predictions)]
    except (BadCell, OutputRejected) as exc:
        row = exc.row
        if isinstance(exc, BadCell):
            record = dict(zip(fields, rows[row], strict=True))
            result.rejected.append({"record": record, "reason": exc.at(offset + row)})
        else:
            result.dropped += 1
        before = _pieces(model, fields, rows[:row], offset, result)
        return before + _pieces(model, fields, rows[row + 1 :], offset + row + 1, result)
    except ModelFailed as exc:
        cause = exc.__cause__
        reason = f"the model failed ({type(cause).__name__}: {cause})" if cause else exc.detail.rstrip(".")
        raise ModelFailed(f"Records {offset} to {offset + len(rows) - 1}: {reason}.") from exc


def _write_json(out: Path, value: dict[str, Any]) -> None:
    atomic = AtomicFile(out)
    try:
        atomic.partial.write_text(json.dumps(value, indent=2, default=_plain) + "\n")
        atomic.commit()
    except BaseException:
        atomic.discard()
        raise


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise ConfigError(f"The metrics hold a {type(value).__name__}, which JSON cannot write.")
