"""SRC and C: read a table in bounded chunks, apply the PP steps, write Parquet for the sandbox.

Memory stays bounded by the chunk size: the test set is never loaded whole. Parquet is read with
pyarrow's `iter_batches`; CSV with pandas' chunked reader (numeric feature columns become float64 so
that every chunk has the same schema).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from mlfo.errors import StepError
from mlfo.preprocessing import FrameContext, Transform
from mlfo.registry import NodeKind, Registry


class Source(Protocol):
    """A SRC implementation: yields a table's rows as DataFrames of at most `chunk_rows` rows."""

    def __call__(
        self, path: Path, chunk_rows: int, ctx: FrameContext
    ) -> Iterator[pd.DataFrame]: ...


@dataclass(frozen=True)
class Collected:
    """What the collector wrote."""

    path: Path
    rows: int
    chunks: int
    columns: list[str]


class Collector(Protocol):
    """A C implementation: transforms every chunk and writes one Parquet file."""

    def __call__(
        self,
        chunks: Iterator[pd.DataFrame],
        transform: Transform,
        out_path: Path,
        ctx: FrameContext,
    ) -> Collected: ...


SOURCES: Registry[Source] = Registry(NodeKind.SRC)
COLLECTORS: Registry[Collector] = Registry(NodeKind.C)


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a whole Parquet or CSV table (for the labels and the training data)."""
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, usecols=columns)
        return pq.read_table(path, columns=columns).to_pandas()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise StepError(f"{path.name}: cannot be read as a table: {exc}") from None


def table_columns(path: Path) -> list[str]:
    """The column names of a Parquet or CSV table, without reading its rows."""
    if path.suffix.lower() == ".csv":
        return list(pd.read_csv(path, nrows=0).columns)
    return list(pq.read_schema(path).names)


def table_source(path: Path, chunk_rows: int, ctx: FrameContext) -> Iterator[pd.DataFrame]:
    """Read a Parquet or CSV table chunk by chunk."""
    if not path.is_file():
        raise StepError(f"{path.name}: the table does not exist")
    try:
        if path.suffix.lower() == ".csv":
            with pd.read_csv(path, chunksize=chunk_rows) as reader:
                for chunk in reader:
                    yield _uniform_csv_chunk(chunk, ctx)
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise StepError(f"{path.name}: cannot be read: {exc}") from None


def _uniform_csv_chunk(chunk: pd.DataFrame, ctx: FrameContext) -> pd.DataFrame:
    for column in chunk.columns:
        if column == ctx.id_column:
            continue
        dtype = chunk[column].dtype
        if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            chunk[column] = chunk[column].astype("float64")
    return chunk


def chunked_collector(
    chunks: Iterator[pd.DataFrame], transform: Transform, out_path: Path, ctx: FrameContext
) -> Collected:
    """Transform each chunk and append it to one Parquet file with a fixed schema."""
    writer: pq.ParquetWriter | None = None
    rows = count = 0
    columns: list[str] = []
    try:
        for index, chunk in enumerate(chunks):
            if ctx.id_column not in chunk.columns:
                raise StepError(f"the features have no id column {ctx.id_column!r}")
            table = pa.Table.from_pandas(transform(chunk), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(out_path, table.schema)
                columns = list(table.schema.names)
            else:
                table = _conform(table, writer.schema, index)
            writer.write_table(table)
            rows += table.num_rows
            count += 1
    finally:
        if writer is not None:
            writer.close()
    if writer is None or rows == 0:
        raise StepError("the test features have no rows")
    return Collected(out_path, rows, count, columns)


def _conform(table: pa.Table, schema: pa.Schema, index: int) -> pa.Table:
    if table.schema.equals(schema):
        return table
    try:
        return table.select(schema.names).cast(schema)
    except (KeyError, pa.ArrowException) as exc:
        raise StepError(
            f"chunk {index} of the features does not match the first chunk: {exc}"
        ) from None


class CollectorParams(BaseModel):
    """How many rows the collector reads at a time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chunk_rows: int = Field(default=100_000, ge=1)


SOURCES.register("table", table_source)
COLLECTORS.register("chunked", chunked_collector, params=CollectorParams)


def collect_features(
    path: Path,
    out_path: Path,
    *,
    transform: Transform,
    ctx: FrameContext,
    chunk_rows: int,
    source: Source = table_source,
    collector: Collector = chunked_collector,
    with_target: bool = False,
    check_cancel: Callable[[], None] | None = None,
) -> Collected:
    """Run SRC and C: read `path` in chunks, transform them, write `out_path`.

    Test features must not hold the target; training data (`with_target`) carries it through.
    """
    if not path.is_file():
        raise StepError(f"{path.name}: the table does not exist")
    if not with_target and ctx.target in table_columns(path):
        raise StepError(
            f"{path.name}: the test features must not contain the target {ctx.target!r}"
        )
    chunks = source(path, chunk_rows, ctx)
    if check_cancel is not None:
        chunks = _checked(chunks, check_cancel)
    return collector(chunks, transform, out_path, ctx)


def _checked(chunks: Iterator[pd.DataFrame], check: Callable[[], None]) -> Iterator[pd.DataFrame]:
    for chunk in chunks:
        check()
        yield chunk
