#!/usr/bin/env python3
"""The backend's model cache against another session's changes (tests/stress/run.sh).

Session A keeps its connection, so the models its row functions read stay in its cache between
statements; session B refits, rolls back, grants, revokes and drops. After each change A's next
statement must give what reading the catalog gives: the new version after B's commit, the old one
while B's change is uncommitted or rolled back, the version of its own snapshot inside a
REPEATABLE READ transaction, an error once its right to the model is revoked or the model dropped.
Usage: model_cache.py DSN TABLE (TABLE has numeric columns spend and visits)."""
import sys

import psycopg

dsn, table = sys.argv[1], sys.argv[2]
MODEL = "stress_cache"


def fit(cur, k):
    cur.execute(f"SELECT version FROM segment_fit('{table}', ARRAY['spend', 'visits'], {k}, name => %s, "
                "options => '{\"seed\": 1}')", (MODEL,))
    return cur.fetchone()[0]


def segments(cur):
    """How many segments A's statement gives the rows (k of the version it reads)."""
    return cur.execute(f"SELECT count(DISTINCT segment_assign(%s, t)) FROM {table} t", (MODEL,)).fetchone()[0]


def sqlstate(cur):
    """The SQLSTATE of A's statement, None when it succeeds."""
    try:
        segments(cur)
        return None
    except psycopg.Error as e:
        return e.sqlstate


def check(what, got, want):
    print(f"model cache: {what}: {got}")
    if got != want:
        sys.exit(f"model cache: {what}: got {got}, expected {want}")


with psycopg.connect(dsn, autocommit=True) as a_conn, psycopg.connect(dsn, autocommit=True) as b_conn:
    a, b = a_conn.cursor(), b_conn.cursor()
    b.execute("DROP ROLE IF EXISTS stress_cache_reader")
    b.execute("CREATE ROLE stress_cache_reader")
    b.execute(f"GRANT SELECT ON {table} TO stress_cache_reader")
    b.execute("SELECT segment_drop(name) FROM segment_model_access WHERE name = %s", (MODEL,))
    fit(b, 2)
    check("first version", (segments(a), segments(a)), (2, 2))
    fit(b, 3)
    check("after B's refit", segments(a), 3)
    # B's refit not yet committed, then rolled back.
    b.execute("BEGIN")
    fit(b, 4)
    check("B's refit uncommitted", segments(a), 3)
    b.execute("ROLLBACK")
    check("B's refit rolled back", segments(a), 3)
    # A's snapshot: a REPEATABLE READ transaction keeps the version it saw first.
    a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    check("A's snapshot taken", segments(a), 3)
    fit(b, 2)
    check("B's refit after A's snapshot", segments(a), 3)
    a.execute("COMMIT")
    check("A's next transaction", segments(a), 2)
    # Privileges, A as a reader.
    a.execute("SET ROLE stress_cache_reader")
    check("A not granted", sqlstate(a), "42501")
    b.execute("SELECT segment_grant(%s, 'stress_cache_reader')", (MODEL,))
    check("A granted", (segments(a), segments(a)), (2, 2))
    b.execute("SELECT segment_revoke(%s, 'stress_cache_reader')", (MODEL,))
    check("A revoked", sqlstate(a), "42501")
    a.execute("RESET ROLE")
    check("A as the owner", segments(a), 2)
    b.execute("SELECT segment_drop(%s)", (MODEL,))
    check("after B's drop", sqlstate(a), "42704")
    b.execute(f"REVOKE SELECT ON {table} FROM stress_cache_reader")
    b.execute("DROP ROLE stress_cache_reader")
print("model cache: every statement of A saw what the catalog held for it")
