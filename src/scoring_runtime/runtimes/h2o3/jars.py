"""The Java code the H2O-3 runtime runs: a slim genmodel jar and the project's batch helper.

The genmodel classes come from the `h2o` package's 279 MB `h2o.jar`; only the packages that
MOJO scoring reaches are copied into a slim jar (a few MB), byte-for-byte reproducibly, so the
JVM opens a small jar and an image can ship the slim jar without the `h2o` package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from scoring_runtime.core.errors import ModelLoadError

HELPER_JAR = Path(__file__).resolve().parent / "java" / "scoring-runtime-helper.jar"
GENMODEL_PACKAGES = (
    "hex/genmodel/",
    "hex/ModelCategory",
    "water/genmodel/",
    "water/logging/",
    "ai/h2o/algos/tree/",
    "biz/k11i/",
    "com/google/gson/",
    "au/com/bytecode/opencsv/",
    "META-INF/services/hex.genmodel.ModelMojoReader",  # registers the XGBoost MOJO reader
)
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_jar(out: Path, entries: Iterable[tuple[str, bytes]]) -> Path:
    """A jar whose bytes depend only on its entries: sorted, fixed timestamps and permissions."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + f".{os.getpid()}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as jar:
        manifest = zipfile.ZipInfo("META-INF/MANIFEST.MF", _EPOCH)
        manifest.external_attr = 0o644 << 16
        jar.writestr(manifest, b"Manifest-Version: 1.0\r\nCreated-By: scoring-runtime\r\n\r\n")
        for name, content in sorted(entries):
            info = zipfile.ZipInfo(name, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            jar.writestr(info, content)
    partial.replace(out)
    return out


def derive_genmodel_jar(h2o_jar: Path, out: Path) -> Path:
    with zipfile.ZipFile(h2o_jar) as full:
        names = [n for n in full.namelist() if n.startswith(GENMODEL_PACKAGES) and not n.endswith("/")]
        return write_jar(out, ((n, full.read(n)) for n in names))


def installed_h2o_jar() -> Path | None:
    """Found without importing `h2o`: its import (pandas, matplotlib) cost each server or Spark
    worker ~0.45 s of its MOJO load, to read one path."""
    spec = importlib.util.find_spec("h2o")
    if spec is None or spec.origin is None:
        return None
    candidate = Path(spec.origin).resolve().parent / "backend" / "bin" / "h2o.jar"
    return candidate if candidate.is_file() else None


def genmodel_jar(explicit: Path | None = None) -> Path:
    """The slim genmodel jar: the configured one, else derived once from the installed `h2o` package."""
    if explicit is not None:
        if not explicit.is_file():
            raise ModelLoadError(f"The genmodel jar {explicit} does not exist.")
        return explicit
    source = installed_h2o_jar()
    if source is None:
        raise ModelLoadError(
            "H2O-3 MOJOs need the genmodel classes: pip install 'scoring-runtime[h2o]' "
            "or set SCORER_GENMODEL_JAR to a slim jar built with `python -m scoring_runtime.runtimes.h2o3.jars`."
        )
    stamp = hashlib.sha256(f"{source}:{source.stat().st_size}:{source.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    for cache in (Path(sys.prefix) / "share" / "scoring-runtime", Path(tempfile.gettempdir()) / "scoring-runtime"):
        target = cache / f"h2o-genmodel-{stamp}.jar"
        if target.is_file():
            return target
        try:
            return derive_genmodel_jar(source, target)
        except OSError:
            continue
    raise ModelLoadError("No writable place to store the derived genmodel jar; set SCORER_GENMODEL_JAR.")


def main() -> None:
    """`python -m scoring_runtime.runtimes.h2o3.jars OUT.jar`: derive the slim genmodel jar (used by the Dockerfile)."""
    source = installed_h2o_jar()
    if source is None or len(sys.argv) != 2:
        sys.exit("usage: python -m scoring_runtime.runtimes.h2o3.jars OUT.jar   (needs the h2o package installed)")
    out = derive_genmodel_jar(source, Path(sys.argv[1]))
    print(f"{out} {out.stat().st_size} bytes sha256={hashlib.sha256(out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
