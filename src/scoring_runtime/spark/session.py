"""The SparkSession of a `scorer` command: bound to 127.0.0.1 in local mode unless told otherwise,
Arrow on, and Java 17 or 21 found for Spark when JAVA_HOME names none."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

from scoring_runtime.core.errors import ConfigError

_INCUBATOR = b"WARNING: Using incubator modules: jdk.incubator.vector\n"
_JAVA = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-21-openjdk-amd64")
_QUIET_LOGS = """rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %m%n
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = off
"""
"""Spark's log lines off: a failure reaches the user as the command's one sentence, and the
console progress bar (not a log line) still shows the stages."""


def session(master: str) -> Any:
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        raise ConfigError("--engine spark needs pyspark: pip install 'scoring-runtime[spark]'.") from None
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers need this environment's packages
    if "SPARK_CONF_DIR" not in os.environ:  # a user's own Spark configuration wins
        folder = Path(tempfile.mkdtemp(prefix="scorer-spark-conf-"))
        (folder / "log4j2.properties").write_text(_QUIET_LOGS)
        os.environ["SPARK_CONF_DIR"] = str(folder)
    if "JAVA_HOME" not in os.environ:
        found = next((home for home in _JAVA if (Path(home) / "bin" / "java").exists()), None)
        if found is not None:
            os.environ["JAVA_HOME"] = found
    settings = {
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "true",
    }
    try:
        _start_context(master, settings)
        spark = SparkSession.builder.master(master).appName("scorer").getOrCreate()
    except Exception as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ConfigError(f"Spark did not start on {master} ({first.strip()}).") from None
    spark.sparkContext.setLogLevel("OFF")
    return spark


def _start_context(master: str, settings: dict[str, str]) -> None:
    """Start the SparkContext with the JVM's standard error passed through a filter: Spark 4's
    launch makes the JVM announce `--add-modules=jdk.incubator.vector`, a line that would stand
    before a failing command's one sentence. Nothing happens when a context is already running."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._active_spark_context is not None:
        return
    conf = SparkConf().setMaster(master).setAppName("scorer").setAll(list(settings.items()))
    gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})
    threading.Thread(target=_pass_through, args=(gateway.proc.stderr,), daemon=True).start()
    SparkContext(conf=conf, gateway=gateway)


def _pass_through(stream: Any) -> None:
    """The JVM's standard error to ours as it comes (the progress bar redraws within a line),
    less the incubator-module notice."""
    while chunk := os.read(stream.fileno(), 65536):
        sys.stderr.buffer.write(chunk.replace(_INCUBATOR, b""))
        sys.stderr.flush()
