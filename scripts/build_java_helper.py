"""Compile the H2O-3 runtime's Java sources into its committed helper jar, reproducibly.

Needs a JDK (`javac`) and the `h2o` package; the jar is committed, so serving needs neither a
JDK nor this script. `--check` rebuilds into a temporary file and compares the class files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from scoring_runtime.runtimes.h2o3.jars import HELPER_JAR, genmodel_jar, write_jar

SOURCES = HELPER_JAR.parent / "src"


def build(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as classes:
        sources = sorted(str(p) for p in SOURCES.rglob("*.java"))
        subprocess.run(["javac", "--release", "11", "-cp", str(genmodel_jar()), "-d", classes, *sources], check=True)
        root = Path(classes)
        return write_jar(out, ((p.relative_to(root).as_posix(), p.read_bytes()) for p in root.rglob("*.class")))


def classes_of(jar: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(jar) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.endswith(".class")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare a fresh build with the committed jar")
    args = parser.parse_args()
    if not args.check:
        print(build(HELPER_JAR))
        return
    with tempfile.TemporaryDirectory() as scratch:
        fresh = build(Path(scratch) / "helper.jar")
        if classes_of(fresh) != classes_of(HELPER_JAR):
            sys.exit("the committed helper jar differs from its sources; run scripts/build_java_helper.py")
    print("helper jar matches its sources")


if __name__ == "__main__":
    main()
