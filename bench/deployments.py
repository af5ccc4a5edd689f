"""Several models in one server: what an extra model costs in memory, how long a reload takes,
and what a challenger adds to its champion's requests.

    .venv/bin/python -m bench.deployments [--seconds 10] [--reps 3]

- RSS: one server with 1 model and one with 6 (five extra copies of the same artifact, each
  loaded as its own model), for the credit GBM pickle and the bundled H2O-3 MOJO; per extra model
  = the difference / 5.
- Reload: `POST /v2/repository/models/<m>/load` round trips (load beside, self-check, swap), median.
- Challenger: one server with the GBM alone and as the champion of three deployments, each with
  one challenger (a copy of the GBM, one that raises on every call, one that sleeps 1 s); wrk at
  1 connection alternating between them, one row and 100 rows per request; p50 and the serving
  process's CPU per request (each challenger scores in a process of its own).
Prints a table and puts it into bench/RESULTS.md (its own section).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import joblib

from bench.common import cpu_seconds, rss_mb, serve, write_results, wrk
from scoring_runtime.core.model import ServedModel
from scoring_runtime.deployments.config import read_deployments
from scoring_runtime.deployments.loading import entry_loader
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.deployments.shadow import NO_SHADOW
from scoring_runtime.protocols.h2o import codec
from scoring_runtime.protocols.h2o.codec import schema_document
from scoring_runtime.protocols.h2o.wire import ScoreRequest
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.settings import ModelSettings, bundled_model, load_settings
from tests import model_builders
from tests.shadow_models import FailingChallenger, SlowChallenger

INPUTS = model_builders.CREDIT_CATEGORICAL + model_builders.CREDIT_NUMERIC


def config_of(folder: Path, artifact: Path, copies: int, deployments: dict | None = None) -> Path:
    models = {}
    for index in range(copies):
        copy = folder / f"m{index}{artifact.suffix}"
        shutil.copy(artifact, copy)
        sidecar = artifact.with_name(artifact.name + ".schema.json")
        if sidecar.exists():
            shutil.copy(sidecar, copy.with_name(copy.name + ".schema.json"))
        models[f"m{index}"] = {"path": copy.name}
    path = folder / f"deployments-{copies}.json"
    path.write_text(json.dumps({"models": models, "deployments": deployments or {}}))
    return path


def memory_and_reload(artifact: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    rss = {}
    for copies in (1, 6):
        folder = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
        server, _ = serve(None, "--config", str(config_of(folder, artifact, copies)))  # type: ignore[arg-type]
        try:
            time.sleep(1)
            rss[copies] = rss_mb(server.process.pid)
            if copies == 6:
                times = []
                with httpx.Client(base_url=server.url, timeout=120) as client:
                    for _ in range(5):
                        started = time.perf_counter()
                        client.post("/v2/repository/models/m1/load").raise_for_status()
                        times.append(time.perf_counter() - started)
                figures["reload_ms"] = statistics.median(times) * 1000
        finally:
            server.stop()
    figures["rss_one_mb"] = rss[1]
    figures["rss_per_extra_mb"] = (rss[6] - rss[1]) / 5
    return figures


def challenger_overhead(folder: Path, gbm: Path, seconds: int, reps: int) -> list[dict[str, object]]:
    """The champion alone, and with each kind of challenger; CPU of the serving process alone
    (a challenger scores in a process of its own, whose CPU is its own scoring)."""
    pipeline = joblib.load(gbm)
    schema = schema_document(ServedModel(load_scorer(gbm), ModelSettings(_env_file=None)))["schema"]
    for name, wrapper in (("failing", FailingChallenger), ("slow", SlowChallenger)):
        joblib.dump(wrapper(pipeline), folder / f"{name}.joblib")
        (folder / f"{name}.joblib.schema.json").write_text(json.dumps(schema))
    shutil.copy(gbm, folder / "copy.joblib")
    shutil.copy(gbm.with_name(gbm.name + ".schema.json"), folder / "copy.joblib.schema.json")
    models = {"gbm": {"path": str(gbm)}, **{n: {"path": f"{n}.joblib"} for n in ("copy", "failing", "slow")}}
    deployments = {"single": {"model": "gbm"}}
    deployments |= {f"with-{n}": {"champion": "gbm", "challengers": [n]} for n in ("copy", "failing", "slow")}
    config = folder / "challengers.json"
    config.write_text(json.dumps({"models": models, "deployments": deployments}))
    server, _ = serve(None, "--config", str(config))  # type: ignore[arg-type]
    frame = model_builders.credit_frame(200)
    rows = []
    try:
        time.sleep(5)  # the challengers' processes have started and loaded their models
        for count in (1, 100):
            body = {"fields": INPUTS, "rows": frame[INPUTS].head(count).astype(str).to_numpy().tolist()}
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in deployments}
            for _ in range(reps):
                for deployment in deployments:
                    cpu = cpu_seconds(server.process.pid, tree=False)
                    result = wrk(f"{server.url}/{deployment}/model/score", body, 1, seconds)
                    result["cpu_ms"] = (
                        (cpu_seconds(server.process.pid, tree=False) - cpu) / (result["rps"] * seconds) * 1000
                    )
                    runs[deployment].append(result)
                    time.sleep(1)
            medians = {
                name: {key: statistics.median(r[key] for r in results) for key in ("p50_ms", "cpu_ms", "errors")}
                for name, results in runs.items()
            }
            rows.append({"rows": count, **medians})
    finally:
        server.stop()
    return rows


def serving_cpu_in_process(folder: Path, gbm: Path, alternations: int = 6, requests: int = 300) -> dict[str, float]:
    """The serving process's CPU per one-row request (`time.process_time`: every thread of it,
    so the challenger's queue, pickling and pipe are in; its own scoring, in its process, is not),
    through the registry and the H2O codec without HTTP, whose noise is larger than the effect.
    A 4 ms pause between requests lets the challenger keep up."""
    shutil.copy(gbm, folder / "twin.joblib")
    shutil.copy(gbm.with_name(gbm.name + ".schema.json"), folder / "twin.joblib.schema.json")
    config = folder / "in-process.json"
    deployments = {"single": {"model": "gbm"}, "cc": {"champion": "gbm", "challengers": ["twin"]}}
    config.write_text(
        json.dumps({"models": {"gbm": {"path": str(gbm)}, "twin": {"path": "twin.joblib"}}, "deployments": deployments})
    )
    settings = load_settings(config=config)
    registry = ModelRegistry(entry_loader(settings), NO_SHADOW, 64, isolate=settings)
    registry.start(read_deployments(config))
    rows = model_builders.credit_frame(10)[INPUTS].head(1).astype(str).to_numpy().tolist()
    seconds: dict[str, list[float]] = {"single": [], "cc": []}

    async def run(name: str) -> None:
        deployment = registry.deployment(name)
        started = time.process_time()
        for _ in range(requests):
            with registry.answer(deployment) as answer:
                await answer.score(codec.score_job(answer.model, ScoreRequest(fields=INPUTS, rows=rows)))
            await asyncio.sleep(0.004)
        await asyncio.sleep(0.5)
        seconds[name].append((time.process_time() - started) / requests)

    async def alternate() -> None:
        await asyncio.sleep(6)  # the challenger's process has loaded its model
        for _ in range(alternations):
            for name in seconds:
                await run(name)

    try:
        asyncio.run(alternate())
        scored = registry.challengers(registry.deployment("cc"))[0]["scored"]
    finally:
        registry.close()
    return {name: statistics.mean(values) * 1000 for name, values in seconds.items()} | {"scored": scored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    models = Path(tempfile.mkdtemp(prefix="bench-models-"))
    gbm = model_builders.credit_pipeline(models, model_builders.credit_frame())
    memory = {"pickle (credit GBM)": memory_and_reload(gbm), "H2O-3 MOJO (bundled)": memory_and_reload(bundled_model())}
    overhead = challenger_overhead(models, gbm, args.seconds, args.reps)
    in_process = serving_cpu_in_process(models, gbm)
    lines = [
        f"## Several models: memory, reload, challenger overhead ({date.today()}, `python -m bench.deployments`)",
        "",
        "| model | RSS with one model | RSS per extra model | reload round trip (median of 5) |",
        "|---|---|---|---|",
    ]
    for label, figures in memory.items():
        lines.append(
            f"| {label} | {figures['rss_one_mb']:.0f} MB | {figures['rss_per_extra_mb']:.1f} MB | {figures['reload_ms']:.0f} ms |"
        )
    lines += [
        "",
        f"The champion with one challenger (wrk, 1 connection, {args.seconds} s x {args.reps}, alternating): p50, and CPU per "
        "request of the serving process (each challenger scores in a process of its own; its CPU is its own scoring). "
        "`copy`: the same GBM; `failing`: raises on every call; `slow`: sleeps 1 s per call.",
        "",
        "| rows | champion alone | with copy | with failing | with slow | CPU alone | CPU with copy | with failing | with slow |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in overhead:
        names = ("single", "with-copy", "with-failing", "with-slow")
        alone = row["single"]
        p50 = [
            f"{row[n]['p50_ms']:.2f} ms"
            + ("" if n == "single" else f" ({row[n]['p50_ms'] / alone['p50_ms'] - 1:+.0%})")
            for n in names
        ]
        cpu = [
            f"{row[n]['cpu_ms']:.2f} ms"
            + ("" if n == "single" else f" ({row[n]['cpu_ms'] / alone['cpu_ms'] - 1:+.0%})")
            for n in names
        ]
        lines.append(f"| {row['rows']} | " + " | ".join(p50 + cpu) + " |")
    lines += [
        "",
        "Serving-process CPU per one-row request without HTTP (registry + H2O codec, 6 x 300 requests alternating, "
        f"mean): alone {in_process['single']:.2f} ms, with one challenger {in_process['cc']:.2f} ms "
        f"({in_process['cc'] / in_process['single'] - 1:+.1%}; the challenger scored {in_process['scored']:.0f} of them in its own process).",
    ]
    text = "\n".join(lines)
    print(text)
    write_results("deployments", text)


if __name__ == "__main__":
    main()
