"""What a model source costs beyond its own score function, 1,000 rows a request.

    python -m bench.model_source

A trivial source (`{"id": r["id"], "y": r["x0"]}` over an id and five doubles, both schemas) is
timed three ways: its score function called 1,000 times in a plain loop (the function's own
time); the runtime in process (cells read, converted by the input schema, `score` per record,
outputs validated by the output schema); and a real server answering `POST /model/score`.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import median_ms, serve, timed_posts, write_results
from scoring_runtime.core.columns import read_frame
from scoring_runtime.runtimes import load_model
from scoring_runtime.settings import load_settings

ROWS = 1000
FIELDS = ["id", "x0", "x1", "x2", "x3", "x4"]
SOURCE = """
# modelop.score
def action(record):
    return {"id": record["id"], "y": record["x0"]}
"""


def _source(folder: Path) -> Path:
    (folder / "model.py").write_text(SOURCE)
    inputs = [{"name": "id", "type": "long"}] + [{"name": f"x{i}", "type": "double"} for i in range(5)]
    outputs = [{"name": "id", "type": "long"}, {"name": "y", "type": "double"}]
    for name, fields in (("input_schema.avsc", inputs), ("output_schema.avsc", outputs)):
        (folder / name).write_text(json.dumps({"type": "record", "name": "r", "fields": fields}))
    return folder


def _best(work, repeat: int = 50) -> float:
    """Median seconds of `work()` over `repeat` runs after a warm-up."""
    work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    folder = _source(Path(tempfile.mkdtemp(prefix="bench-source-")))
    rows = [[str(r), *(repr(r * 0.5 + i) for i in range(5))] for r in range(ROWS)]
    model = load_model(load_settings(model=folder))
    action = model.scorer.functions["score"]
    records = [dict(zip(FIELDS, [int(row[0]), *map(float, row[1:])], strict=True)) for row in rows]
    own = _best(lambda: [action(r) for r in records])
    columns = {name: [row[i] for row in rows] for i, name in enumerate(FIELDS)}
    read = _best(lambda: read_frame(columns, ROWS, model.schema, model.read_options))
    frame = read_frame(columns, ROWS, model.schema, model.read_options)
    adapter = _best(lambda: model.score_now(frame))
    server, _ = serve(folder)
    try:
        http = median_ms(timed_posts(f"{server.url}/model/score", {"fields": FIELDS, "rows": rows}, 200)) / 1000
    finally:
        server.stop()
    text = (
        f"1,000 rows, trivial score over an id and five doubles (both schemas), medians:\n\n"
        f"| | ms |\n|---|---|\n"
        f"| the score function's own time (1,000 calls in a loop) | {own * 1e3:.2f} |\n"
        f"| runtime in process: schema conversion + score per record + output validation | {adapter * 1e3:.2f} |\n"
        f"| of which beyond the function | **{(adapter - own) * 1e3:.2f}** |\n"
        f"| reading the request's cells into the frame (core, every runtime) | {read * 1e3:.2f} |\n"
        f"| `POST /model/score` on a real server, end to end | {http * 1e3:.2f} |\n"
        f"| of which beyond the function | {(http - own) * 1e3:.2f} |\n"
    )
    print(text)
    write_results("Model sources: overhead beyond the score function", text)


if __name__ == "__main__":
    main()
