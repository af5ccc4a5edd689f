"""The `scorer` command: serve a model, score a file in batches, or inspect an artifact."""

from __future__ import annotations

import argparse
import json
import logging
import logging.config
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from app.errors import ApiError, ConfigError
from app.main import create_app, load_model
from app.observability import logging_config
from app.schemas import ScoreRequest
from app.scoring import ScoringService
from app.settings import Settings
from runtimes import calibration
from runtimes.artifacts import sha256_of, single_artifact_in
from runtimes.base import ModelLoadError, ScoringType
from runtimes.explain import background_file

EXIT_UNUSABLE_MODEL = 2
_SERVE_OPTIONS = ("model", "host", "port", "workers", "path_prefix", "runtime")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ModelLoadError, ConfigError) as exc:
        print(f"scorer: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE_MODEL
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"scorer: setting {'.'.join(map(str, first['loc']))}: {first['msg']}.", file=sys.stderr)
        return EXIT_UNUSABLE_MODEL
    except ApiError as exc:
        print(f"scorer: {exc.detail}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scorer", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve a model over HTTP (the H2O scoring API)")
    serve.add_argument(
        "model", nargs="?", type=Path, help="model artifact (default: SCORER_MODEL or the bundled model)"
    )
    serve.add_argument("--host", help="interface to listen on (SCORER_HOST, default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (SCORER_PORT, default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (SCORER_WORKERS, default 1)")
    serve.add_argument("--path-prefix", help="also serve every route under this prefix (SCORER_PATH_PREFIX)")
    serve.add_argument("--runtime", help="force a runtime instead of detecting it (SCORER_RUNTIME)")
    serve.set_defaults(handler=_serve)

    offline = argparse.ArgumentParser(add_help=False)  # what every offline command takes
    offline.add_argument("model", type=Path)
    offline.add_argument("--runtime", help="force a runtime instead of detecting it")

    score = commands.add_parser("score", parents=[offline], help="score a CSV or Parquet file into another")
    score.add_argument("input", type=Path, help="CSV (header row = field names) or .parquet file")
    score.add_argument("-o", "--output", type=Path, required=True, help="output .csv or .parquet file")
    score.add_argument("--include", nargs="*", default=[], help="input fields to copy into the output")
    score.add_argument("--chunk-rows", type=int, default=10_000, help="rows scored per batch")
    score.add_argument("--quiet", action="store_true", help="no progress output")
    score.set_defaults(handler=_score)

    calibrate = commands.add_parser(
        "calibrate", parents=[offline], help="store split-conformal prediction intervals for a regression model"
    )
    calibrate.add_argument("data", type=Path, help="held-out CSV or .parquet with the inputs and the target")
    calibrate.add_argument("--target", required=True, help="column holding the true values")
    calibrate.add_argument("--coverage", type=float, default=0.9, help="nominal coverage, e.g. 0.9")
    calibrate.set_defaults(handler=_calibrate)

    background = commands.add_parser(
        "background", parents=[offline], help="store a background sample for model-agnostic Shapley values"
    )
    background.add_argument("data", type=Path, help="CSV with the model's input fields")
    background.add_argument("--rows", type=int, default=100, help="rows to keep (at most 100 are used)")
    background.set_defaults(handler=_background)

    inspect = commands.add_parser("inspect", parents=[offline], help="print a model's runtime, schema and capabilities")
    inspect.set_defaults(handler=_inspect)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    overrides = {name: getattr(args, name) for name in _SERVE_OPTIONS if getattr(args, name) is not None}
    settings = Settings(**overrides)
    log_config = logging_config(settings.log_level)
    logging.config.dictConfig(log_config)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": log_config,
        "access_log": settings.access_log,
        "timeout_graceful_shutdown": 30,
    }
    if settings.workers == 1:
        app = create_app(settings, load_model(settings))
        server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **common))
        server.run()
        return 0 if server.started else 1
    _preflight(settings)
    for name, value in overrides.items():
        os.environ[f"SCORER_{name.upper()}"] = str(value)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="scorer-metrics-"))
    uvicorn.run("app.main:create_app_from_env", factory=True, workers=settings.workers, **common)
    return 0


def _preflight(settings: Settings) -> None:
    """Load the model once in a throw-away process so a broken artifact fails here, not in a
    crash-looping worker; a process of its own keeps a JVM or the model's memory out of the parent."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        problem = pool.apply(_try_load, (settings,))
    if problem:
        raise ModelLoadError(problem)


def _try_load(settings: Settings) -> str | None:
    try:
        load_model(settings)
    except ModelLoadError as exc:
        return str(exc)
    return None


def _score(args: argparse.Namespace) -> int:
    settings = Settings(model=args.model, runtime=args.runtime, max_rows=max(args.chunk_rows, 1))
    service = ScoringService(load_model(settings), settings)
    total = _count_rows(args.input)
    done = 0
    writer = _OutputWriter(args.output, service.schema.output_names)
    try:
        for fields, rows in _read_chunks(args.input, args.chunk_rows):
            request = ScoreRequest(fields=fields, rows=rows, include_fields_in_output=args.include or None)
            body = service.score(request)
            writer.write(body["fields"], body["score"])
            done += len(rows)
            if not args.quiet:
                percent = f" ({100 * done / total:.0f}%)" if total else ""
                print(f"\rscored {done:,}/{total:,} rows{percent}", end="", file=sys.stderr, flush=True)
    finally:
        writer.close()
    if not args.quiet:
        print(file=sys.stderr)
    return 0


def _read_chunks(path: Path, chunk_rows: int) -> Iterator[tuple[list[str], list[list[Any]]]]:
    if path.suffix.lower() == ".parquet":
        parquet = _pyarrow_parquet()
        for batch in parquet.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield [str(c) for c in frame.columns], frame.astype(object).where(frame.notna(), None).values.tolist()
        return
    for frame in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows):
        yield [str(c) for c in frame.columns], frame.to_numpy(dtype=object).tolist()


def _count_rows(path: Path) -> int:
    if path.suffix.lower() == ".parquet":
        return _pyarrow_parquet().ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0)


class _OutputWriter:
    """CSV keeps the API's text; Parquet stores the prediction columns as float64."""

    def __init__(self, path: Path, numeric: tuple[str, ...]) -> None:
        self.path = path
        self.numeric = set(numeric)
        self.parquet_writer: Any = None
        self.started = False

    def write(self, fields: list[str], rows: list[list[str]]) -> None:
        frame = pd.DataFrame(rows, columns=fields, dtype=object)
        if self.path.suffix.lower() == ".parquet":
            import pyarrow as pa

            for name in fields:
                frame[name] = pd.to_numeric(frame[name]) if name in self.numeric else frame[name].astype(str)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet_writer is None:
                self.parquet_writer = _pyarrow_parquet().ParquetWriter(self.path, table.schema)
            self.parquet_writer.write_table(table)
        else:
            frame.to_csv(self.path, mode="a" if self.started else "w", header=not self.started, index=False)
        self.started = True

    def close(self) -> None:
        if self.parquet_writer is not None:
            self.parquet_writer.close()


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as parquet
    except ModuleNotFoundError:
        raise ModelLoadError("Parquet files need pyarrow: pip install 'scoring-runtime[parquet]'.") from None
    return parquet


def _calibrate(args: argparse.Namespace) -> int:
    settings = Settings(model=args.model, runtime=args.runtime, max_rows=10_000)
    service = ScoringService(load_model(settings), settings)
    if service.schema.scoring_type is not ScoringType.REGRESSION:
        raise ConfigError("Prediction intervals are calibrated for regression models only.")
    predictions: list[float] = []
    actual: list[float] = []
    for fields, rows in _read_chunks(args.data, 10_000):
        if args.target not in fields:
            raise ConfigError(f"{args.data} has no column '{args.target}'.")
        column = fields.index(args.target)
        body = service.score(ScoreRequest(fields=fields, rows=rows, no_field_names_in_output=True))
        predictions.extend(float(row[0]) for row in body["score"])
        actual.extend(float(row[column]) if row[column] not in ("", None) else float("nan") for row in rows)
    try:
        fitted = calibration.fit(
            np.array(predictions), np.array(actual), args.coverage, args.target, sha256_of(args.data)
        )
    except ValueError as exc:
        raise ConfigError(f"{exc}.") from exc
    path = calibration.save(fitted, _artifact(args.model))
    print(f"{path}: prediction ± {fitted.quantile:.6g} for {fitted.coverage:.0%} coverage, from {fitted.rows} rows")
    return 0


def _background(args: argparse.Namespace) -> int:
    settings = Settings(model=args.model, runtime=args.runtime)
    inputs = list(load_model(settings).schema.input_names)
    table = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    missing = [name for name in inputs if name not in table.columns]
    if missing:
        raise ConfigError(f"{args.data} lacks the input fields {missing}.")
    sample = table[inputs].sample(min(args.rows, len(table)), random_state=0)
    path = background_file(_artifact(args.model))
    sample.to_csv(path, index=False)
    print(f"{path}: {len(sample)} rows; restart the server to use them")
    return 0


def _artifact(path: Path) -> Path:
    return single_artifact_in(path) or path


def _inspect(args: argparse.Namespace) -> int:
    settings = Settings(model=args.model, runtime=args.runtime)
    scorer = load_model(settings)
    service = ScoringService(scorer, settings)
    report = {
        "runtime": scorer.info.runtime,
        "capabilities": sorted(c.value for c in service.capabilities),
        "mediaFields": list(scorer.schema.media_fields),
        "notes": list(scorer.info.notes),
        **service.schema_document(),
    }
    print(json.dumps(report, indent=2))
    return 0
