"""Table files for batch work: CSV, JSON lines (`.json`/`.jsonl`) or Parquet, chosen by suffix.

Reading yields chunks of rows as cells (CSV cells stay text, JSON and Parquet cells keep their
values, None = missing); every problem with a file is one `ConfigError` sentence naming it.
Writing goes to a temporary file beside the output, renamed into place only when the whole job
has succeeded, so a failed job leaves no partial output behind.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from scoring_runtime.core.errors import ConfigError

SUFFIXES = (".csv", ".json", ".jsonl", ".parquet")
Chunk = tuple[list[str], list[list[Any]]]


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(f"{path.name} is not a .csv, .json, .jsonl or .parquet file; the suffix says which it is.")
    return "jsonl" if suffix == ".json" else suffix[1:]


def read_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """(field names, rows of cells) per chunk of at most `chunk_rows` rows."""
    kind = _readable(path)
    with _reading(path, kind):
        if kind == "parquet":
            for batch in pyarrow_parquet().ParquetFile(path).iter_batches(batch_size=chunk_rows):
                frame = batch.to_pandas()
                yield [str(c) for c in frame.columns], frame.astype(object).where(frame.notna(), None).values.tolist()
        elif kind == "jsonl":
            yield from _json_lines(path, chunk_rows)
        else:
            for frame in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows, encoding="utf-8"):
                yield [str(c) for c in frame.columns], frame.to_numpy(dtype=object).tolist()


def read_table(path: Path) -> pd.DataFrame:
    """A whole file as a DataFrame with pandas' own typing, as a model's metrics and train
    functions expect it."""
    kind = _readable(path)
    with _reading(path, kind):
        if kind == "parquet":
            pyarrow_parquet()
            return pd.read_parquet(path)
        if kind == "jsonl":
            return pd.read_json(path, lines=True, dtype=False, precise_float=True)
        return pd.read_csv(path, encoding="utf-8")


@contextmanager
def _reading(path: Path, kind: str) -> Iterator[None]:
    """What pandas and pyarrow raise about a file, as one sentence naming it."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise ConfigError(f"{path} is empty; a CSV file starts with a header row of field names.") from None
    except UnicodeDecodeError:
        line = _undecodable_line(path)
        raise ConfigError(f"{path} is not UTF-8 text (line {line}); convert it to UTF-8 first.") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise ConfigError(f"{path} cannot be read as {kind} ({_first_line(exc)}).") from None


def count_rows(path: Path) -> int:
    """Rows in the file (for progress): Parquet's metadata, else lines."""
    kind = _readable(path)
    if kind == "parquet":
        return pyarrow_parquet().ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0) if kind == "csv" else lines


def _readable(path: Path) -> str:
    kind = kind_of(path)
    if not path.is_file():
        raise ConfigError(f"The input file {path} does not exist.")
    return kind


def _json_lines(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    records: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ConfigError(f"{path} line {number} is not JSON ({exc}).") from None
            if not isinstance(record, dict):
                raise ConfigError(f"{path} line {number} is not a JSON object; each line holds one record.")
            records.append(record)
            if len(records) == chunk_rows:
                yield _chunk(records)
                records = []
    if records:
        yield _chunk(records)


def _chunk(records: list[dict[str, Any]]) -> Chunk:
    fields = list(dict.fromkeys(key for record in records for key in record))
    return fields, [[record.get(name) for name in fields] for record in records]


def _undecodable_line(path: Path) -> int:
    """The first line that is not UTF-8 (the decoder's own offset is into a parser's buffer)."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class AtomicFile:
    """A file written beside its destination and renamed into place by `commit`; `discard`
    (or a failure before `commit`) leaves nothing."""

    def __init__(self, path: Path) -> None:
        folder = path.parent
        if not folder.is_dir():
            raise ConfigError(f"The output folder {folder} does not exist.")
        self.path = path
        self.partial = folder / f".{path.name}.{secrets.token_hex(4)}.partial"
        self.partial.open("xb").close()  # a name of its own, with the permissions the umask gives

    def commit(self) -> None:
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        self.partial.unlink(missing_ok=True)


class TableWriter:
    """Rows of text cells into CSV, JSON lines or Parquet; the `numeric` fields are written as
    numbers where the format has them."""

    def __init__(self, target: AtomicFile, numeric: set[str]) -> None:
        self.target = target
        self.kind = kind_of(target.path)
        self.numeric = numeric
        self._parquet: Any = None
        self._started = False

    def write(self, fields: list[str], rows: list[list[str]]) -> None:
        frame = pd.DataFrame(rows, columns=fields, dtype=object)
        if self.kind != "csv":  # CSV keeps the numbers' texts as the H2O API writes them
            for name in fields:
                if name in self.numeric:
                    frame[name] = pd.to_numeric(frame[name].replace("", None), errors="coerce")
        if self.kind == "parquet":
            self._write_parquet(frame)
        elif self.kind == "jsonl":
            with self.target.partial.open("ab") as handle:
                for record in frame.to_dict(orient="records"):
                    handle.write(json.dumps(_json_safe(record), allow_nan=False).encode() + b"\n")
        else:
            frame.to_csv(self.target.partial, mode="a" if self._started else "w", header=not self._started, index=False)
        self._started = True

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif not self._started and self.kind == "csv":
            self.target.partial.write_text("")

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        for name in frame.columns:
            if name not in self.numeric:
                frame[name] = frame[name].astype(str)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = pyarrow_parquet().ParquetWriter(self.target.partial, table.schema)
        self._parquet.write_table(table)


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    """NaN (no prediction) as null, since JSON has no NaN."""
    return {k: None if isinstance(v, float) and v != v else v for k, v in record.items()}


def pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as parquet
    except ModuleNotFoundError:
        raise ConfigError("Parquet files need pyarrow: pip install 'scoring-runtime[parquet]'.") from None
    return parquet
