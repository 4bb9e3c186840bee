"""Bulk writes of immutable rows (eBOM and mBOM lines): rows without signals or history."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model


def insert_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                batch_size: int) -> None:
    """Insert `rows` (values in `columns` order, foreign keys by id) into `model`'s table: on
    PostgreSQL with one COPY, since Django building an INSERT parameter per field per row was
    the largest cost of writing 50,000 lines (docs/mbom.md); elsewhere (SQLite, the demo) with
    bulk_create."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows],
                                  batch_size=batch_size)
        return
    json_columns = frozenset(i for i, name in enumerate(columns)
                             if isinstance(model._meta.get_field(name), JSONField))
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([json.dumps(value) if i in json_columns else value
                            for i, value in enumerate(row)])
