"""A model-scoring server: the H2O scoring API over H2O-3 MOJOs, Driverless AI MOJOs, pickles and MLflow models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scoring-runtime")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
