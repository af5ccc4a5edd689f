"""The `scorer` command: serve a model, score a file in batches, inspect an artifact, or store
a calibration or background sample beside it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from scoring_runtime import __version__
from scoring_runtime.core.errors import ConfigError, ModelLoadError, RequestError

if TYPE_CHECKING:
    from scoring_runtime.core.model import ServedModel
    from scoring_runtime.settings import Settings

EXIT_FAILED = 2
RUNTIME_HELP = (
    "force a runtime instead of detecting it: h2o3_mojo, dai_mojo, mlflow, pickle, model_source, or an H2O MLOps "
    "name such as h2o3/mojo, h2o3_mojo_runtime, dai/mojo_pipeline, dai_mojo_runtime, python/mlflow, python/pickle"
)
_SERVE_OPTIONS = ("model", "host", "port", "workers", "path_prefix", "runtime", "grpc_port", "model_name", "config")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "model", None) is not None and "://" not in args.model:
        args.model = Path(args.model)  # a URL stays text, for the settings to refuse in a sentence
    if args.handler is not _serve:
        _quiet_logs()
    try:
        code = args.handler(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below and not at exit
        return code
    except BrokenPipeError:  # `scorer inspect MODEL | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ModelLoadError, ConfigError) as exc:
        return _fail(str(exc))
    except RequestError as exc:
        return _fail(exc.detail)
    except ValidationError as exc:
        return _fail(_setting_sentence(exc))


def _setting_sentence(exc: ValidationError) -> str:
    """A bad setting named as the user set it (`SCORER_MAX_ROWS`, not the field `max_rows`), with
    the value given."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    name = field if field.isupper() else f"SCORER_{field.upper()}"
    given = first.get("input")
    shown = f" (it is {given!r})" if isinstance(given, str | int | float) and first["type"] != "value_error" else ""
    return f"{name}: {first['msg'].removeprefix('Value error, ')}{shown}."


def _quiet_logs() -> None:
    """Offline commands tell every problem in their closing sentence; the server's log lines
    would repeat it, with a traceback."""
    logger = logging.getLogger("scorer")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _fail(sentence: str) -> int:
    print(f"scorer: {sentence}", file=sys.stderr)
    return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scorer", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve a model: the H2O scoring API and the Open Inference Protocol (V2)")
    serve.add_argument(
        "model", nargs="?", help="model artifact, file or folder (default: SCORER_MODEL or the bundled model)"
    )
    serve.add_argument("--host", help="interface to listen on (SCORER_HOST, default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (SCORER_PORT, default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (SCORER_WORKERS, default 1)")
    serve.add_argument("--path-prefix", help="also serve every route under this prefix (SCORER_PATH_PREFIX)")
    serve.add_argument("--runtime", help=RUNTIME_HELP + " (SCORER_RUNTIME)")
    serve.add_argument(
        "--grpc-port", type=int, help="also serve the V2 gRPC inference service on this port (SCORER_GRPC_PORT)"
    )
    serve.add_argument(
        "--name", dest="model_name", help="the model's V2 name (SCORER_MODEL_NAME, default: the artifact's name)"
    )
    serve.add_argument(
        "--config",
        type=Path,
        help="a deployments file (YAML or JSON): several models, A/B tests, champion/challenger (SCORER_CONFIG)",
    )
    serve.set_defaults(handler=_serve)

    offline = argparse.ArgumentParser(add_help=False)  # what every offline command takes
    offline.add_argument("model", help="model artifact (file or folder)")
    offline.add_argument("--runtime", help=RUNTIME_HELP)

    score = commands.add_parser(
        "score", parents=[offline], help="score a file (CSV, JSON lines, Parquet) into another, here or on Spark"
    )
    score.add_argument(
        "input", help=".csv (header row = field names), .jsonl or .parquet (Spark: a folder, or a URL such as hdfs://…)"
    )
    score.add_argument("-o", "--output", required=True, help="output .csv, .jsonl or .parquet (Spark: a URL too)")
    score.add_argument("--include", nargs="*", default=[], help="input fields copied into the output (F1,F2 or F1 F2)")
    score.add_argument("--shapley", choices=["ORIGINAL", "TRANSFORMED"], help="add Shapley contribution columns")
    score.add_argument("--intervals", action="store_true", help="add the prediction interval bounds")
    score.add_argument("--engine", choices=["local", "spark"], default="local", help="where to score (default: local)")
    score.add_argument("--master", default="local[*]", help="the Spark master with --engine spark (default: local[*])")
    score.add_argument("--chunk-rows", type=int, default=10_000, help="rows scored per batch (local engine)")
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

    _job_parsers(commands, offline)

    inspect = commands.add_parser(
        "inspect", help="print a model's runtime, schema and capabilities, or every model and deployment of a file"
    )
    inspect.add_argument("model", nargs="?", help="model artifact (file or folder)")
    inspect.add_argument("--runtime", help=RUNTIME_HELP)
    inspect.add_argument("--config", type=Path, help="a deployments file: print its models and deployments")
    inspect.set_defaults(handler=_inspect)
    return parser


def _job_parsers(commands: Any, offline: argparse.ArgumentParser) -> None:
    job = commands.add_parser("job", help="a model's batch jobs: score a file, compute metrics, train")
    jobs = job.add_subparsers(required=True, metavar="JOB")
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument(
        "--input", type=Path, required=True, help="a .csv, .json/.jsonl (a record a line) or .parquet file"
    )
    files.add_argument("--quiet", action="store_true", help="no progress on standard error")

    score = jobs.add_parser("score", parents=[offline, files], help="score every record of a file into another")
    score.add_argument("--output", type=Path, required=True, help="the scores: .csv, .json/.jsonl or .parquet")
    score.add_argument("--include", nargs="*", default=[], help="input fields copied into the output")
    score.add_argument("--chunk-rows", type=int, default=10_000, help="records scored per batch")
    score.set_defaults(handler=_job_score)

    metrics = jobs.add_parser("metrics", parents=[offline, files], help="evaluate a model on labelled records")
    metrics.add_argument("--output", type=Path, required=True, help="the metrics, as JSON")
    metrics.add_argument(
        "--target", help="the label column: the built-in evaluation (default: the model's own metrics)"
    )
    metrics.add_argument("--report", type=Path, help="also write an HTML report with the evaluation's plots")
    metrics.set_defaults(handler=_job_metrics)

    spark = jobs.add_parser("spark", parents=[offline], help="run a ModelOp Spark model source on Spark")
    spark.add_argument("--input", type=Path, nargs="+", required=True, help="input files, given to it as assets")
    spark.add_argument("--output", type=Path, nargs="+", required=True, help="output files or folders it writes")
    spark.add_argument("--attachment", type=Path, nargs="*", help="attachments (default: the model folder's files)")
    spark.add_argument("--master", default="local[*]", help="the Spark master (default: local[*])")
    spark.set_defaults(handler=_job_spark)

    train = jobs.add_parser("train", parents=[offline, files], help="run a model source's train function")
    train.add_argument("--output-dir", type=Path, required=True, help="the folder its outputDir/ files go to")
    train.set_defaults(handler=_job_train)


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's options winning (the handlers
    import what they need, so `scorer --help` loads no model libraries)."""
    from scoring_runtime.settings import load_settings

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def _load(args: argparse.Namespace, **overrides: Any) -> ServedModel:
    from scoring_runtime.runtimes import load_model

    if "SCORER_MODEL_THREADS" not in os.environ:
        overrides["model_threads"] = 0  # one big batch at a time: every core for it
    return load_model(_settings(model=args.model, runtime=args.runtime, **overrides))


def _serve(args: argparse.Namespace) -> int:
    from scoring_runtime.http.server import serve

    if args.model is not None and args.config is not None:
        return _fail("give a model artifact or --config FILE, not both.")
    return serve(_settings(**{name: getattr(args, name) for name in _SERVE_OPTIONS}))


def _score(args: argparse.Namespace) -> int:
    include = [name for item in args.include for name in item.split(",") if name]
    if args.engine == "spark":
        from scoring_runtime.spark.files import score_files

        rows = score_files(
            args.model, args.input, args.output, include=include, shapley=args.shapley, intervals=args.intervals,
            master=args.master, runtime=args.runtime,
        )  # fmt: skip
    else:
        from scoring_runtime.batch.score import score_file, score_options

        model = _load(args, max_rows=max(args.chunk_rows, 1))
        options = score_options(model, args.shapley, args.intervals)
        rows = score_file(
            model, Path(args.input), Path(args.output), include=include, options=options, chunk_rows=args.chunk_rows,
            quiet=args.quiet,
        )  # fmt: skip
    print(f"scored {rows} rows into {args.output}")
    return 0


def _job_score(args: argparse.Namespace) -> int:
    from scoring_runtime.batch.jobs import score_job

    model = _load(args, max_rows=max(args.chunk_rows, 1))
    result = score_job(
        model, args.input, args.output, include=args.include, chunk_rows=args.chunk_rows, quiet=args.quiet
    )
    print(result.summary())
    return 0


def _job_metrics(args: argparse.Namespace) -> int:
    from scoring_runtime.batch.jobs import metrics_job

    metrics_job(_load(args), args.input, args.output, target=args.target, report=args.report, quiet=args.quiet)
    print(f"wrote {args.output}" + (f" and {args.report}" if args.report else ""))
    return 0


def _job_spark(args: argparse.Namespace) -> int:
    from scoring_runtime.runtimes.options import LoadOptions
    from scoring_runtime.spark.jobs import spark_job

    options = LoadOptions.from_settings(_settings(model=args.model, runtime=args.runtime))
    for path in spark_job(args.model, options, args.input, args.output, args.attachment, args.master):
        print(path)
    return 0


def _job_train(args: argparse.Namespace) -> int:
    from scoring_runtime.batch.jobs import train_job
    from scoring_runtime.runtimes.options import LoadOptions

    options = LoadOptions.from_settings(_settings(model=args.model, runtime=args.runtime))
    for path in train_job(args.model, options, args.input, args.output_dir):
        print(path)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from scoring_runtime.batch.calibrate import calibrate

    print(calibrate(_load(args), _artifact(args.model), args.data, args.target, args.coverage))
    return 0


def _background(args: argparse.Namespace) -> int:
    from scoring_runtime.batch.calibrate import store_background

    print(store_background(_load(args), _artifact(args.model), args.data, args.rows))
    return 0


def _artifact(path: Path) -> Path:
    from scoring_runtime.runtimes.artifacts import single_artifact_in

    return single_artifact_in(path) or path


def _inspect(args: argparse.Namespace) -> int:
    if (args.model is None) == (args.config is None):
        return _fail("give a model artifact or --config FILE (one of the two).")
    if args.config is not None:
        print(json.dumps(_deployments_report(args.config), indent=2))
        return 0
    print(json.dumps(_model_report(_load(args)), indent=2))
    return 0


def _model_report(model: ServedModel) -> dict[str, Any]:
    from scoring_runtime.protocols.h2o.codec import schema_document
    from scoring_runtime.runtimes.names import mlops_names

    return {
        "runtime": model.info.runtime,
        "mlops": mlops_names(model.info.runtime),
        "capabilities": sorted(c.value for c in model.capabilities),
        "mediaFields": list(model.schema.media_fields),
        "notes": list(model.info.notes),
        **schema_document(model),
    }


def _deployments_report(config: Path) -> dict[str, Any]:
    """Every model of the file loaded and checked as `serve --config` would, then described."""
    from scoring_runtime.deployments.loading import deployments_of, entry_loader
    from scoring_runtime.deployments.registry import ModelRegistry
    from scoring_runtime.deployments.shadow import NO_SHADOW

    settings = _settings(config=config)
    deployments = deployments_of(settings)
    registry = ModelRegistry(entry_loader(settings), NO_SHADOW)
    registry.start(deployments)
    try:
        models = {}
        for name, entry in deployments.models.items():
            with registry.hold(name) as model:
                models[name] = {"path": str(entry.path), "id": model.model_id, **_model_report(model)}
        described = {
            name: {k: v for k, v in entry.model_dump(exclude_defaults=True).items()}
            for name, entry in deployments.deployments.items()
        }
        return {"models": models, "deployments": described, "ready": registry.ready}
    finally:
        registry.close()
