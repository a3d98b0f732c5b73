"""CSV downloads a spreadsheet opens as is: UTF-8 with a BOM, streamed in batches."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence

from fastapi.responses import StreamingResponse
from sqlalchemy import Select
from sqlalchemy.engine import Engine

#: Rows written per chunk sent.
CHUNK = 1000


def _lines(engine: Engine, header: Sequence[str], query: Select) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # Excel reads UTF-8 only with a BOM
    writer.writerow(header)
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=5000).execute(query)
        for n, row in enumerate(rows, 1):
            writer.writerow(["" if v is None else v for v in row])
            if n % CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def csv_download(
    engine: Engine, name: str, header: Sequence[str], query: Select
) -> StreamingResponse:
    """Stream ``query``'s rows under ``header`` as the file ``<name>.csv`` (name made safe)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    return StreamingResponse(
        _lines(engine, header, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )
