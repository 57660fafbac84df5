#!/usr/bin/env python3
"""Reads a segment_create_view view the way a BI tool does: a separate client (psycopg) lists the
view's columns from information_schema, then reads every row and checks each value has a
standard type. Usage: bi_client.py DSN VIEW EXPECTED_ROWS"""
import sys

import psycopg

dsn, view, expected_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
with psycopg.connect(dsn) as conn:
    columns = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s ORDER BY ordinal_position",
        (view,),
    ).fetchall()
    print(f"bi client: {view} columns {columns}")
    names = [c for c, _ in columns]
    assert names[-2:] == ["segment", "segment_label"], names
    assert dict(columns)["segment"] == "integer" and dict(columns)["segment_label"] == "text", columns
    rows = conn.execute(f'SELECT * FROM "{view}"').fetchall()
    assert len(rows) == expected_rows, (len(rows), expected_rows)
    for row in rows:
        record = dict(zip(names, row))
        assert isinstance(record["segment"], int), record
        assert isinstance(record["segment_label"], str) and record["segment_label"], record
    segments = sorted({r[names.index("segment")] for r in rows})
    print(f"bi client: read {len(rows)} rows, segments {segments}, every value int / str")
