# Sourced by tests/stress/run.sh (its cluster, P and fail): what an error shows when the server
# runs with RUST_BACKTRACE=1 in its environment (a developer's shell often sets it, and a cluster
# started from that shell inherits it). pgrx captured a Rust backtrace with every error that
# unwound through Rust and appended it to the DETAIL: a cancelled fit showed 25 lines of stack
# frames. No error a user sees may show frames, and each keeps its SQLSTATE and message.

log "errors show no Rust stack frames with RUST_BACKTRACE=1 in the server's environment"
# as_pg takes RUST_BACKTRACE out of the environment; put it back for the server.
as_pg env RUST_BACKTRACE=1 "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w restart >/dev/null
# Backends inherit the postmaster's environment (their own /proc/self/environ is overwritten by
# their process titles).
tr '\0' '\n' <"/proc/$(head -1 "$DIR/data/postmaster.pid")/environ" | grep -qx RUST_BACKTRACE=1 ||
    fail "the server's environment lacks RUST_BACKTRACE=1: the check would be blind"

P -c "CREATE TABLE trace_rows AS
      SELECT ((i * 7919) % 1000) / 10.0 AS a, ((i * 104729) % 997) / 10.0 AS b,
             ((i * 31337) % 991) / 10.0 AS c
      FROM generate_series(1::bigint, 300000) i" \
  -c "CREATE VIEW trace_bad AS SELECT i, 1.0 / (i - 5000) AS a FROM generate_series(1, 10000) i"
# error_shown CODE MESSAGE SQL...: the error of the statements as psql shows it with VERBOSITY
# verbose must carry CODE and MESSAGE and no stack frame ("  0: symbol", "      at file:line").
error_shown() {
    local code=$1 message=$2 out frames
    shift 2
    out=$(P -v VERBOSITY=verbose "$@" 2>&1) && fail "expected the error $code, the statements succeeded"
    echo "$out" | grep -q "ERROR:  $code: $message" || { echo "$out" >&2; fail "expected ERROR $code: $message"; }
    frames=$(echo "$out" | grep -cE '^[[:space:]]*[0-9]+: |^[[:space:]]+at [^ ]+:[0-9]+|stack backtrace' || true)
    [ "$frames" -eq 0 ] || { echo "$out" >&2; fail "the error $code shows $frames lines of Rust stack frames"; }
    echo "error shown: $code $message, $(echo "$out" | wc -l) lines, no stack frame"
}
# A cancelled fit (cancelled in the middle of its computation, through PostgreSQL's interrupt
# check called from Rust).
error_shown 57014 "canceling statement due to statement timeout" -c "SET statement_timeout = 1500" \
    -c "SELECT * FROM segment_fit('trace_rows', ARRAY['a', 'b', 'c'], 40, name => 'never_stored',
                                  options => '{\"n_init\": 100, \"tol\": 0}')"
# An error of the query reading the source (raised inside SPI).
error_shown 22012 "division by zero" -c "SELECT * FROM segment_fit('trace_bad', ARRAY['a'], 2)"
# The extension's own error.
error_shown 42703 'column "d" of relation "trace_rows" does not exist' \
    -c "SELECT * FROM segment_fit('trace_rows', ARRAY['a', 'd'], 2)"

# Back to the environment of every other check.
as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w restart >/dev/null
