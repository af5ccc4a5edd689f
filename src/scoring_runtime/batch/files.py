"""Reading input files in chunks of rows and writing scored chunks, CSV or Parquet by suffix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from scoring_runtime.core.errors import ConfigError


def read_chunks(path: Path, chunk_rows: int) -> Iterator[tuple[list[str], list[list[Any]]]]:
    """(field names, rows of cells); CSV cells stay text, Parquet cells keep their values (None = missing)."""
    if path.suffix.lower() == ".parquet":
        for batch in pyarrow_parquet().ParquetFile(path).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield [str(c) for c in frame.columns], frame.astype(object).where(frame.notna(), None).values.tolist()
        return
    for frame in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows):
        yield [str(c) for c in frame.columns], frame.to_numpy(dtype=object).tolist()


def count_rows(path: Path) -> int:
    if path.suffix.lower() == ".parquet":
        return pyarrow_parquet().ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0)


class OutputWriter:
    """CSV keeps the scores as text; Parquet stores the prediction columns as float64."""

    def __init__(self, path: Path, numeric: tuple[str, ...]) -> None:
        self.path = path
        self.numeric = set(numeric)
        self.parquet_writer: Any = None
        self.started = False

    def write(self, fields: list[str], rows: list[list[str]]) -> None:
        frame = pd.DataFrame(rows, columns=fields, dtype=object)
        if self.path.suffix.lower() == ".parquet":
            import pyarrow as pa

            for name in fields:
                frame[name] = pd.to_numeric(frame[name]) if name in self.numeric else frame[name].astype(str)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet_writer is None:
                self.parquet_writer = pyarrow_parquet().ParquetWriter(self.path, table.schema)
            self.parquet_writer.write_table(table)
        else:
            frame.to_csv(self.path, mode="a" if self.started else "w", header=not self.started, index=False)
        self.started = True

    def close(self) -> None:
        if self.parquet_writer is not None:
            self.parquet_writer.close()


def pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as parquet
    except ModuleNotFoundError:
        raise ConfigError("Parquet files need pyarrow: pip install 'scoring-runtime[parquet]'.") from None
    return parquet
