from __future__ import annotations

import pytest

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.runtimes.source.tags import entry_points, holds_score_tag, source_file


def test_tags_directly_above_a_function_or_its_decorators_name_the_entry_points(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(
        "import functools\n\n# modelop.init\ndef begin():\n    pass\n\n"
        "# a comment first\n#   modelop.score\n@functools.lru_cache\ndef action(r):\n    return r\n\n"
        "# modelop.metrics\n\ndef not_tagged(df):\n    pass\n"
    )
    assert entry_points(path) == {"init": "begin", "score": "action"}


def test_a_source_needs_a_score_function_and_valid_python(tmp_path):
    path = tmp_path / "model.py"
    path.write_text("# modelop.init\ndef begin():\n    pass\n")
    with pytest.raises(ModelLoadError, match=r"no top-level function tagged '# modelop\.score'"):
        entry_points(path)
    path.write_text("# modelop.score\ndef action(r:\n")
    with pytest.raises(ModelLoadError, match="not valid Python"):
        entry_points(path)


def test_the_source_file_is_the_one_top_level_py_file_with_a_score_tag(tmp_path):
    (tmp_path / "helpers.py").write_text("def f():\n    pass\n")
    assert source_file(tmp_path) is None
    (tmp_path / "model.py").write_text("# modelop.score\ndef action(r):\n    return r\n")
    assert source_file(tmp_path) == tmp_path / "model.py"
    (tmp_path / "other.py").write_text("# modelop.score\ndef action(r):\n    return r\n")
    assert source_file(tmp_path) is None
    assert holds_score_tag("x = 1\n  # modelop.score\n") and not holds_score_tag("# modelop.scored\n")
