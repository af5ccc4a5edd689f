"""Running the app under uvicorn: one process that loads the model first, or several workers.

With several workers each one is a spawned process that builds its own app and loads its own
model (a JVM started before a fork hangs in the child). The settings reach the workers inside
uvicorn's pickled config, so nothing is passed through the environment but the metrics
directory, which prometheus_client reads only from there.
"""

from __future__ import annotations

import functools
import logging.config
import multiprocessing
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from scoring_runtime.core.errors import ConfigError, ModelLoadError
from scoring_runtime.deployments.loading import deployments_of, entry_loader
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.deployments.shadow import NO_SHADOW
from scoring_runtime.http.app import create_app, grpc_module
from scoring_runtime.http.connections import GuardedConfig, Guards
from scoring_runtime.http.drain import GRACEFUL_SHUTDOWN_SECONDS
from scoring_runtime.http.logs import logging_config
from scoring_runtime.settings import Settings


def serve(settings: Settings) -> int:
    """Serve until stopped; returns the process's exit code."""
    server = settings.server
    if server.grpc_port is not None:
        grpc_module()  # a missing grpcio is one sentence here, not a failed start-up in every worker
    guards = Guards.of(server)
    log_config = logging_config(server.log_level)
    logging.config.dictConfig(log_config)
    common: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "log_level": server.log_level,
        "log_config": log_config,
        "access_log": server.access_log,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "timeout_keep_alive": server.keep_alive_timeout,
        "lifespan": "on",
    }
    if server.workers == 1:
        instance = uvicorn.Server(GuardedConfig(create_app(settings, preload=True), guards, **common))
        # uvicorn re-raises a SIGTERM it drained on under the handler it found: with this one
        # the process then exits 0, a finished drain, instead of dying of the signal (143).
        signal.signal(signal.SIGTERM, _drained)
        instance.run()
        return 0 if instance.started else 1
    _preflight(settings)
    metrics_dir = server.metrics_dir or Path(tempfile.mkdtemp(prefix="scorer-metrics-"))
    control_dir = server.control_dir or Path(tempfile.mkdtemp(prefix="scorer-control-"))
    settings = Settings(
        server.model_copy(update={"metrics_dir": metrics_dir, "control_dir": control_dir}), settings.model
    )
    # prometheus_client decides at import whether values are shared between processes, from this
    # variable alone; the spawned workers inherit it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    config = GuardedConfig(
        functools.partial(create_app, settings), guards, factory=True, workers=server.workers, **common
    )
    Workers(config, sockets=[config.bind_socket()]).run()
    return 0


def _drained(signum: int, frame: object) -> None:
    """SIGTERM once the server has drained: nothing is left to stop."""


class Workers(Multiprocess):
    """uvicorn's supervisor, except that `SIGHUP` reaches the workers: each re-reads the
    deployments and swaps its models in place, as a single-process server does, instead of
    being replaced."""

    def terminate_all(self) -> None:
        # The parent's copy of the listening socket would keep the kernel accepting connections
        # that no worker takes while they drain, each reset when the parent exits; closed here,
        # a new connection is refused at once and a client (or Kubernetes) can go elsewhere.
        for sock in self.sockets:
            sock.close()
        super().terminate_all()

    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)


def _preflight(settings: Settings) -> None:
    """Load every model once in a throw-away process so a broken artifact or deployments file
    fails here, not in a crash-looping worker; a process of its own keeps a JVM or the models'
    memory out of the parent."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        problem = pool.apply(_try_load, (settings,))
    if problem:
        raise ModelLoadError(problem)


def _try_load(settings: Settings) -> str | None:
    registry = ModelRegistry(entry_loader(settings), NO_SHADOW)
    try:
        registry.start(deployments_of(settings))
    except (ModelLoadError, ConfigError) as exc:
        return str(exc)
    finally:
        registry.close()
    return None
