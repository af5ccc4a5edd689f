"""The package as a user installs it: a built wheel, outside the source tree, serving its default model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.server_process import REPO, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_scorer_serve_with_no_model_serves_the_default_model_from_a_wheel(tmp_path, server_logs):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(wheels),
        str(REPO),
    ]
    built = subprocess.run(build, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("scoring_runtime-*.whl")
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    where = subprocess.run(
        [sys.executable, "-c", "import scoring_runtime; print(scoring_runtime.__file__)"],
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(target))
    server = start_server(None, server_logs, env={"PYTHONPATH": str(target)}, cwd=tmp_path)
    try:
        with server.client() as client:
            assert client.get("/readyz").text == "Ready"
            sample = client.get("/model/sample_request").json()
            body = client.post("/model/score", json=sample).json()
            assert body["fields"] == ["cool_cond_y.3", "cool_cond_y.20", "cool_cond_y.100"]
            assert abs(sum(float(v) for v in body["score"][0]) - 1) < 1e-9
            assert "page-assets/page.js" in client.get("/").text  # the page's files are package data
            for name in ("page.js", "page.css", "favicon.svg"):
                assert client.get(f"/page-assets/{name}").status_code == 200
            assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    finally:
        server.stop()
