"""The slim genmodel jar is reproducible, and the committed helper jar matches its sources."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile

import pytest

from scoring_runtime.runtimes.h2o3.jars import (
    GENMODEL_PACKAGES,
    HELPER_JAR,
    derive_genmodel_jar,
    installed_h2o_jar,
    write_jar,
)
from tests.server_process import REPO


def test_write_jar_bytes_depend_only_on_entries(tmp_path):
    first = write_jar(tmp_path / "a.jar", [("b/B.class", b"2"), ("a/A.class", b"1")])
    second = write_jar(tmp_path / "b.jar", [("a/A.class", b"1"), ("b/B.class", b"2")])
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.slow
def test_slim_genmodel_jar_is_reproducible_and_small(tmp_path):
    source = installed_h2o_jar()
    assert source is not None, "the [h2o] extra installs the h2o package"
    one = derive_genmodel_jar(source, tmp_path / "one.jar")
    two = derive_genmodel_jar(source, tmp_path / "two.jar")
    assert hashlib.sha256(one.read_bytes()).digest() == hashlib.sha256(two.read_bytes()).digest()
    assert one.stat().st_size < 2_000_000
    with zipfile.ZipFile(one) as jar:
        names = jar.namelist()
    assert "hex/genmodel/MojoModel.class" in names
    assert "META-INF/services/hex.genmodel.ModelMojoReader" in names
    assert all(n == "META-INF/MANIFEST.MF" or n.startswith(GENMODEL_PACKAGES) for n in names)


@pytest.mark.skipif(shutil.which("javac") is None, reason="no JDK here; the committed jar is used as is")
def test_committed_helper_jar_matches_its_sources():
    version = subprocess.run(["javac", "-version"], capture_output=True, text=True).stdout.strip()
    if not version.startswith("javac 17."):
        pytest.skip(f"the committed jar was compiled by javac 17, this machine has {version}")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_java_helper.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert HELPER_JAR.stat().st_size < 32_000  # the project's own classes only, no genmodel inside


def test_the_h2o_jar_is_found_without_importing_h2o():
    """Importing `h2o` (pandas, matplotlib) cost every MOJO load ~0.45 s to read one path."""
    script = (
        "import sys\n"
        "from scoring_runtime.runtimes.h2o3.jars import installed_h2o_jar\n"
        "jar = installed_h2o_jar()\n"
        "assert jar is not None and jar.name == 'h2o.jar' and jar.is_file(), jar\n"
        "assert 'h2o' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)
