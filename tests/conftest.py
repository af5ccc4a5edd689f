from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from scoring_runtime.settings import bundled_model
from tests import model_builders
from tests.server_process import ExternalServer, ServerProcess, start_server


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def credit_frame() -> pd.DataFrame:
    return model_builders.credit_frame()


@pytest.fixture(scope="session")
def credit_model(model_dir: Path, credit_frame: pd.DataFrame) -> Path:
    return model_builders.credit_pipeline(model_dir, credit_frame)


@pytest.fixture(scope="session")
def credit_int_model(model_dir: Path, credit_frame: pd.DataFrame) -> Path:
    return model_builders.credit_int_codes_pipeline(model_dir, credit_frame)


@pytest.fixture(scope="session")
def pump_model(model_dir: Path) -> tuple[Path, pd.DataFrame]:
    return model_builders.hydraulic_regressor(model_dir)


@pytest.fixture(scope="session")
def default_model() -> Path:
    return bundled_model()


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def default_server(server_logs: Path) -> Iterator[ServerProcess | ExternalServer]:
    """`scorer serve` with no MODEL: the bundled default model, as the README runs it; or the
    server at `SCORER_EXTERNAL_URL` (scripts/image-check.sh points it at the container)."""
    if os.environ.get("SCORER_EXTERNAL_URL"):
        yield ExternalServer(os.environ["SCORER_EXTERNAL_URL"].rstrip("/"))
        return
    server = start_server(None, server_logs)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def credit_server(
    credit_model: Path, server_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    score_dir = tmp_path_factory.mktemp("score-files")
    server = start_server(
        credit_model,
        server_logs,
        "--path-prefix",
        "/0b7cf4f2-5c5e-4ad5-9b53-1f0b2b3f0a11",
        env={
            "SCORER_SCORE_FILE_DIR": str(score_dir),
            "SCORER_MAX_ROWS": "5000",
            "SCORER_MAX_BODY_BYTES": "2000000",
            "SHAPLEY_TYPES_ENABLED": "ORIGINAL",
        },
    )
    server.score_dir = score_dir  # type: ignore[attr-defined]
    yield server
    server.stop()
