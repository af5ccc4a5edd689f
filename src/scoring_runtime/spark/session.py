"""The SparkSession of a `scorer` command: bound to 127.0.0.1 in local mode unless told otherwise,
Arrow on, and Java 17 or 21 found for Spark when JAVA_HOME names none."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from scoring_runtime.core.errors import ConfigError

_JAVA = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-21-openjdk-amd64")
_QUIET_LOGS = """rootLogger.level = off
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %m%n
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
    logs = Path(tempfile.mkdtemp(prefix="scorer-spark-logs-")) / "log4j2.properties"
    logs.write_text(_QUIET_LOGS)
    if "JAVA_HOME" not in os.environ:
        found = next((home for home in _JAVA if (Path(home) / "bin" / "java").exists()), None)
        if found is not None:
            os.environ["JAVA_HOME"] = found
    try:
        spark = (
            SparkSession.builder.master(master)
            .appName("scorer")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "true")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{logs}")
            .getOrCreate()
        )
    except Exception as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ConfigError(f"Spark did not start on {master} ({first.strip()}).") from None
    spark.sparkContext.setLogLevel("OFF")
    return spark
