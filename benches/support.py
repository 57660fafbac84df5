"""What the newer benches share: a median timer, a statement's time and the backend's peak memory,
whether a bench table is already made, and rows in and out of PostgreSQL with COPY's
binary format (the fastest way psycopg offers; both sides of a comparison then hold exactly the
same values).

COPY's binary format: a 19-byte header, then per row a field count (int16) and per field a length
(int32) and the value, all big-endian; a trailer of -1 (int16). A numpy record array whose dtype
spells that layout ("n" >i2, then "l<field>" >i4 and the field per column) is written or read in
one piece.
"""
import os
import re
import statistics
import threading
import time

import numpy as np

HEADER, TRAILER = b"PGCOPY\n\xff\r\n\x00" + bytes(8), b"\xff\xff"


REPEAT = int(os.environ.get("BENCH_REPEAT", 3))


def status_kb(pid, key):
    """A backend's /proc status figure in kB (VmRSS: all it maps, shared buffers it touched
    included; RssAnon: its private memory)."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(rf"{key}:\s+(\d+) kB", f.read()).group(1))


def measured(dsn, sql, settings=(), memory="VmRSS", every_row=False):
    """Runs `sql` in a fresh session (progress NOTICEs off, then `settings`), polling the backend's
    `memory` figure every 10 ms: (seconds, the first row — every row with `every_row` — or the
    error, peak growth over its value before the call in MB)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET customer_segment.progress = off")
        for s in settings:
            c.execute(s)
        pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
        base = status_kb(pid, memory)
        peak = [base]
        done = threading.Event()

        def poll():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], status_kb(pid, memory))
                except (OSError, AttributeError):
                    pass
                time.sleep(0.01)

        t = threading.Thread(target=poll)
        t.start()
        t0 = time.perf_counter()
        try:
            cur = c.execute(sql)
            result = cur.fetchall() if every_row else cur.fetchone()
        except psycopg.Error as e:
            result = e
        elapsed = time.perf_counter() - t0
        done.set()
        t.join()
        return elapsed, result, (peak[0] - base) / 1024


def timed(fn, repeat=REPEAT):
    """The median time of `repeat` runs of fn (BENCH_REPEAT, default 3), and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def has_rows(cur, table, rows):
    """Whether `table` exists with exactly `rows` rows (a bench keeps its table between runs)."""
    if not cur.execute("SELECT count(*) FROM pg_class WHERE relname = %s", (table,)).fetchone()[0]:
        return False
    return cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows


def copy_in(cur, table, rec):
    """Writes the record array `rec` (laid out as above) into `table`, 100,000 rows a write."""
    with cur.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as cp:
        cp.write(HEADER)
        for start in range(0, len(rec), 100_000):
            cp.write(rec[start:start + 100_000].tobytes())
        cp.write(TRAILER)


def copy_out(cur, query, dtype):
    """The rows of `query` as a record array of `dtype` (laid out as above)."""
    buf = bytearray()
    with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as cp:
        for block in cp:
            buf += block
    return np.frombuffer(memoryview(buf)[len(HEADER):-len(TRAILER)], dtype=dtype)
