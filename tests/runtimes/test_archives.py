"""Hostile archives are refused before anything lands outside the extraction folder."""

from __future__ import annotations

import stat
import zipfile

import pytest

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.runtimes.archives import extract_zip


def _zip(path, members: dict[str, bytes], *, link: str | None = None):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, "/etc/passwd")
    return path


def test_a_plain_archive_is_extracted(tmp_path):
    target = extract_zip(_zip(tmp_path / "m.zip", {"model/MLmodel": b"flavors: {}", "model/a/b.txt": b"x"}))
    assert (target / "model" / "MLmodel").read_bytes() == b"flavors: {}"
    assert (target / "model" / "a" / "b.txt").read_bytes() == b"x"


@pytest.mark.parametrize(
    ("members", "link", "fragment"),
    [
        ({"../evil.txt": b"x"}, None, "escapes its folder"),
        ({"model/../../evil.txt": b"x"}, None, "escapes its folder"),
        ({"/etc/evil.txt": b"x"}, None, "escapes its folder"),
        ({"C:/evil.txt": b"x"}, None, "escapes its folder"),
        ({"model/MLmodel": b"x"}, "model/link", "symbolic link"),
        ({"bomb.bin": b"\0" * 5_000_000}, None, "zip bomb"),
    ],
)
def test_hostile_archives_are_refused(tmp_path, members, link, fragment):
    archive = _zip(tmp_path / "bad.zip", members, link=link)
    with pytest.raises(ModelLoadError, match=fragment):
        extract_zip(archive)
    assert not (tmp_path / "evil.txt").exists()


def test_total_size_and_member_count_are_bounded(tmp_path):
    archive = _zip(tmp_path / "big.zip", {f"f{i}": bytes(range(256)) * 4 for i in range(10)})
    with pytest.raises(ModelLoadError, match="more than the 5000 allowed"):
        extract_zip(archive, max_total_bytes=5000)
    with pytest.raises(ModelLoadError, match="more than the 5 allowed"):
        extract_zip(archive, max_members=5)


def test_a_corrupt_zip_is_a_load_error(tmp_path):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ModelLoadError, match="not a readable zip"):
        extract_zip(tmp_path / "broken.zip")
