#!/usr/bin/env bash
# The Citus tier: the extension on a Citus cluster (a coordinator and two workers on loopback),
# each function's answer on a distributed table compared with its answer on a plain table holding
# the same rows (never with numbers from an earlier run). One line per check, `ok - ...` or
# `not ok - ...` (TAP style); the tier fails if any check is not ok.
#   a. models fitted on a plain table assign every row of the distributed copy as they assign the
#      plain rows, in a SELECT and stored through INSERT ... SELECT into a co-located table (an
#      UPDATE calling segment_assign is refused by Citus: recorded) (kmeans, gmm, hierarchical, dbscan,
#      minibatch_kmeans)
#   b. segment_fit (in memory) on the distributed table gives the plain table's model
#   c. segment_fit with engine aggregate on the distributed table gives the plain table's model,
#      with citus.coordinator_aggregation_strategy at its default and 'disabled'
#   d. a prepared statement (generic plan) sees a refit, and an error once the model is dropped
#   e. segment_rfm, segment_churn_fit, segment_profile, segment_drift, segment_create_view on
#      distributed tables: the plain table's answer, or an ERROR (any SQLSTATE but XX000)
#   and: CREATE EXTENSION on the coordinator reaches the workers; no backend of any node
#   terminated by a signal.
# Citus is not packaged for Debian 12's PostgreSQL 15, so CI machines do not have it: without
# $(pg_config --pkglibdir)/citus.so the tier prints that it is skipped and succeeds.
# Usage: tests/citus/run.sh (the extension must be installed; scripts/test.sh citus does that).
# CITUS_DIR, CITUS_PORT (the coordinator's; the workers take the next two) override the defaults;
# CITUS_KEEP=1 leaves the clusters running afterwards, to look around (they are stopped, and the
# directory emptied, by the next run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$REPO/tests/citus/cluster.sh"

if ! citus_installed; then
    echo "citus tier: skipped (Citus is not installed for PostgreSQL $PG_MAJOR)"
    exit 0
fi

# Per version (scripts/lib.sh): ports 54380, 54381, 54382 for 15 (54680.. for 18).
DIR=${CITUS_DIR:-${TEST_WORKDIR:-/tmp/customer_segment_test$PG_SUFFIX}/citus}
PORT=${CITUS_PORT:-$((54380 + PG_PORT_OFFSET))}
started=$(date +%s)

[ "${CITUS_KEEP:-}" = 1 ] || trap 'citus_stop "$DIR"' EXIT
citus_start "$DIR" "$PORT"
# psql runs as the postgres user when we are root: work from a directory it may enter, with the
# SQL files and the data where it may read them.
mkdir -p "$DIR/sql" "$DIR/data"
cp "$REPO"/tests/citus/*.sql "$DIR/sql/"
cp "$REPO/tests/data/wholesale_customers/wholesale_customers.csv" "$REPO/tests/data/bank_marketing/bank.csv" \
    "$REPO/tests/data/cdnow/cdnow_sample_transactions.csv" "$DIR/data/"
pg_workdir "$DIR"
cd "$DIR"

on() { citus_psql "$DIR" "$PORT" "$@"; }   # on NODE [psql args...]
C() { on coordinator "$@"; }
echo "citus: $(C -c "SELECT citus_version()" | sed 's/ on .*//'), coordinator on port $PORT," \
     "$(C -c "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0") workers"
: >"$DIR/results"
C -v data="$DIR/data" -f sql/setup.sql | grep -v '^$' | sed 's/^/rows: /'

# ---------------------------------------------------------------------------------------------
# The checks. Each file runs in a session of its own and prints its verdicts, whole lines
# `ok - ...` / `not ok - ...` (the files catch the errors of the statements under test; see
# failed.sql and refused.sql). A file that stops on another error is not ok, with that error.
check() { # FILE [psql args...]
    local file=$1 status=0 out
    shift
    out=$(C -f "sql/$file" "$@" 2>"$DIR/stderr") || status=$?
    { echo "== $file $*"; cat "$DIR/stderr"; printf '%s\n' "$out"; } >>"$DIR/checks.log"
    grep -E '^(not )?ok - ' <<<"$out" | tee -a "$DIR/results" || true
    if [ $status -ne 0 ]; then
        echo "not ok - $file $*: stopped: $(grep -m1 -E 'ERROR|FATAL|server closed|terminated' "$DIR/stderr" | sed 's/^psql:[^ ]* //')" |
            tee -a "$DIR/results"
    fi
    return 0
}

# setup.sql made the extension on the coordinator only: Citus propagates CREATE EXTENSION to the
# workers (their catalog tables stay empty: the models live on the coordinator).
want_version=$(C -c "SELECT extversion FROM pg_extension WHERE extname = 'customer_segment'")
got=$(for n in worker1 worker2; do on "$n" -c "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'customer_segment'), 'none')"; done | paste -sd' ')
if [ "$got" = "$want_version $want_version" ]; then
    echo "ok - CREATE EXTENSION customer_segment on the coordinator reached both workers (version $want_version)" | tee -a "$DIR/results"
else
    echo "not ok - CREATE EXTENSION customer_segment on the coordinator: the workers have $got, the coordinator $want_version" | tee -a "$DIR/results"
    for n in worker1 worker2; do on "$n" -c "CREATE EXTENSION IF NOT EXISTS customer_segment"; done
fi

log "a. models fitted on the plain table assign the distributed table's rows"
check a_assign.sql -v model=a_kmeans -v k=4 -v options='{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}'
check a_assign.sql -v model=a_gmm -v k=3 -v options='{"method": "gmm", "log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}'
check a_assign.sql -v model=a_ward -v k=4 -v options='{"method": "hierarchical", "log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}'
check a_assign.sql -v model=a_dbscan -v k= -v options='{"method": "dbscan", "eps": 1.2, "min_points": 5, "log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}'
check a_assign.sql -v model=a_minibatch -v k=4 -v options='{"method": "minibatch_kmeans", "batch_size": 128, "log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}'
check a_churn.sql
check a_classify.sql

log "b. segment_fit (in memory) on the distributed table"
check b_fit.sql -v plain=wholesale -v dist=wholesale_dist -v k=2 \
    -v features="ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen']" \
    -v options='{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}'
check b_fit.sql -v plain=synthetic -v dist=synthetic_dist -v k=4 -v features="ARRAY['f1', 'f2', 'f3']" \
    -v options='{"n_init": 2, "tol": 1e-10}'

log "c. segment_fit with engine aggregate on the distributed table"
default_strategy=$(C -c "SHOW citus.coordinator_aggregation_strategy")
check c_aggregate.sql -v strategy="$default_strategy"
check c_aggregate.sql -v strategy=disabled

log "d. prepared statements over the distributed table"
check d_prepared.sql

log "e. the other functions on distributed tables: the plain table's answer, or a refusal"
for f in e_rfm e_churn e_profile e_drift e_view; do check "$f.sql"; done

# No backend of any node may have crashed, whatever the answers.
crashes=$(cat "$DIR"/*/server.log | grep -c "terminated by signal" || true)
if [ "$crashes" -eq 0 ]; then
    echo "ok - no backend terminated by a signal on the coordinator or the workers" | tee -a "$DIR/results"
else
    echo "not ok - $crashes backends terminated by a signal (server logs in $DIR/*/server.log)" | tee -a "$DIR/results"
fi

failed=$(grep -c '^not ok' "$DIR/results" || true)
echo "citus tier: $(grep -c '^ok' "$DIR/results") ok, $failed not ok, in $(( $(date +%s) - started )) s (log: $DIR/checks.log)"
[ "$failed" -eq 0 ]
