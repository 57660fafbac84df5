#!/usr/bin/env bash
# The reliability tier (issue 7): things a regression file cannot do because they need several
# sessions, a clock or a killed process. Runs against a throwaway cluster of its own and prints
# what it measured; exits non-zero on the first broken promise.
#   1. concurrency: 8 sessions assign while a 9th drops and refits the model, for STRESS_SECONDS
#   2. cancel: statement_timeout and pg_cancel_backend stop a long fit within 1 s, nothing stored
#   3. crash: SIGKILL of the backend running a fit; after recovery no partial model, old ones work
#   4. memory: a fit above customer_segment.max_memory_mb is refused; mini-batches stay bounded
#   5. a BI client (Python psycopg) lists and reads a segment_create_view view
#   6. pictures: every kind of segment_plot is well-formed XML, rendered to PNG by rsvg-convert,
#      and the PNG is not blank
#   7. two fits racing for one new name with different features: the second is refused
#   8. the model cache: a session keeping its connection sees another session's refit, rollback,
#      grant, revoke and drop in its next statement, and its own snapshot's version
# then (sourced files): a seeded scan, no Rust backtrace in errors, SQLsmith, the dbt project, and
# every plot kind and report page of every model kind in headless Chromium (browser.sh)
# (The upgrade path from the newest release has a tier of its own: tests/upgrade/run.sh.)
# Usage: tests/stress/run.sh (the extension must be installed; scripts/test.sh does that).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# Per version (scripts/lib.sh): /tmp/customer_segment_stress_pg18 and port 54640 for 18.
DIR=${STRESS_DIR:-/tmp/customer_segment_stress$PG_SUFFIX}
PORT=${STRESS_PORT:-$((54340 + PG_PORT_OFFSET))}
SECONDS_BUDGET=${STRESS_SECONDS:-20}
SESSIONS=8

stop_cluster "$DIR" 2>/dev/null || true
rm -rf "$DIR"
start_cluster "$DIR" "$PORT"
# Small shared buffers: the memory check reads the backend's peak RSS, which counts the shared
# pages it touched.
as_pg "$PG_BIN/psql" -X -q -h "$DIR" -p "$PORT" -U postgres -c "ALTER SYSTEM SET shared_buffers = '16MB'" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w restart >/dev/null
trap 'stop_cluster "$DIR"' EXIT
# psql runs as the postgres user when we are root: work from a directory it may enter (a clone in
# a private temporary directory is not one, and psql would say so on every call).
cd "$DIR"

P() { cluster_psql "$DIR" "$PORT" -qAt "$@"; }
fail() { echo "STRESS FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
# seconds from T0 to T1, less OFFSET: elapsed T0 T1 [OFFSET]
elapsed() { awk -v a="$1" -v b="$2" -v o="${3:-0}" 'BEGIN { printf "%.3f", b - a - o }'; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }   # below A B: A < B

P -c "CREATE EXTENSION customer_segment"
P -c "CREATE TABLE people AS
      SELECT i AS id, ((i * 7919) % 1000) / 10.0 AS spend, ((i * 104729) % 997) / 10.0 AS visits
      FROM generate_series(1, 20000) i"

# ---------------------------------------------------------------------------------------------
log "1/8 concurrency: $SESSIONS sessions assign while another drops and refits, ${SECONDS_BUDGET}s"
# The refitting session cycles: refit (version 2), then drop and fit anew (version 1), the drop
# and the fit either in one transaction (readers never miss the model) or in two (readers between
# them get "model does not exist", the one documented error).
ANSWER="SELECT md5(string_agg(segment_assign('m', p)::text, ',' ORDER BY id)) FROM people p"
REFIT_K2="SELECT version FROM segment_fit('people', ARRAY['spend', 'visits'], 2, name => 'm')"
REFIT_K3="SELECT version FROM segment_fit('people', ARRAY['spend', 'visits'], 3, name => 'm')"
DROP_M="SELECT segment_drop('m')"
# The two answers a statement may see: version 1 (k = 2) and version 2 (k = 3, ids matched to 1).
P -c "$REFIT_K2" >/dev/null
A=$(P -c "$ANSWER")
P -c "$REFIT_K3" >/dev/null
B=$(P -c "$ANSWER")
[ "$A" != "$B" ] || fail "the two model versions give the same answer; the check would be blind"

work="$DIR/concurrency"
mkdir -p "$work"
end=$(( $(date +%s) + SECONDS_BUDGET ))
for s in $(seq 1 $SESSIONS); do
    ( while [ "$(date +%s)" -lt $end ]; do P -c "$ANSWER" >>"$work/assign.$s" 2>&1 || true; done ) &
done
( cycles=0
  while [ "$(date +%s)" -lt $end ]; do
      P -c "$REFIT_K3" >>"$work/refit" 2>&1 || echo "REFIT ERROR" >>"$work/refit"
      sleep 0.3
      if [ $((cycles % 2)) -eq 0 ]; then single=-1; else single=; fi
      P $single -c "$DROP_M" -c "$REFIT_K2" >>"$work/refit" 2>&1 || echo "REFIT ERROR" >>"$work/refit"
      sleep 0.3
      cycles=$((cycles + 1))
  done
  echo "$cycles" >"$work/cycles" ) &
wait
statements=$(cat "$work"/assign.* | wc -l)
saw_a=$(cat "$work"/assign.* | grep -cx "$A" || true)
saw_b=$(cat "$work"/assign.* | grep -cx "$B" || true)
saw_missing=$(cat "$work"/assign.* | grep -c 'ERROR:  model "m" does not exist' || true)
hints=$(cat "$work"/assign.* | grep -c '^HINT:' || true)
other=$(( statements - saw_a - saw_b - saw_missing - hints ))
echo "concurrency: $SESSIONS sessions x ${SECONDS_BUDGET}s: $((statements - hints)) statements," \
     "$saw_a saw version 1, $saw_b saw version 2, $saw_missing found no model (between a drop and" \
     "a refit: documented), $other anything else; $(cat "$work/cycles") drop/refit cycles"
if [ "$other" -ne 0 ]; then
    cat "$work"/assign.* | grep -vx -e "$A" -e "$B" | grep -v -e 'does not exist' -e '^HINT:' | sort | uniq -c | head >&2
    fail "a statement saw something other than one complete model version"
fi
grep -q "ERROR" "$work/refit" && { head "$work/refit" >&2; fail "the refitting session got errors"; }
[ $((saw_a + saw_b)) -gt 0 ] || fail "no statement assigned anything"

# ---------------------------------------------------------------------------------------------
log "2/8 cancel: statement_timeout and pg_cancel_backend stop a long fit"
P -c "CREATE TABLE slow AS SELECT random() AS a, random() AS b, random() AS c
      FROM generate_series(1, 1000000)"
LONG_FIT="SELECT * FROM segment_fit('slow', ARRAY['a', 'b', 'c'], 40, name => 'never_stored',
                                    options => '{\"n_init\": 100, \"tol\": 0}')"
worst=0
check_latency() { # what latency
    echo "cancel: $1 ended $2 s after the request"
    below "$2" 1.0 || fail "$1 took $2 s to stop (more than 1 s)"
    below "$worst" "$2" && worst=$2
    return 0
}
# The first run also checks progress NOTICEs: at least one, at most one a second after the first
# second (so at most 4 before a 4 s timeout: at 1, 2, 3 and 4 s; a CI run saw 4, which the
# earlier bound of 3 failed), and none once customer_segment.progress is off.
for run in "4000 on" "1500 off"; do
    read -r timeout progress <<<"$run"
    t0=$(now)
    P -c "SET statement_timeout = $timeout" -c "SET customer_segment.progress = $progress" \
        -c "$LONG_FIT" >"$DIR/timeout.out" 2>&1 && fail "the fit finished before its timeout"
    t1=$(now)
    grep -q "canceling statement due to statement timeout" "$DIR/timeout.out" || { cat "$DIR/timeout.out" >&2; fail "not stopped by the timeout"; }
    check_latency "statement_timeout = ${timeout}ms" "$(elapsed "$t0" "$t1" "$(awk -v t=$timeout 'BEGIN { print t / 1000 }')")"
    notices=$(grep -c "NOTICE:  segment_fit: " "$DIR/timeout.out" || true)
    echo "progress: customer_segment.progress = $progress, $notices NOTICEs in ${timeout}ms: $(grep -m1 "NOTICE:  segment_fit" "$DIR/timeout.out" || true)"
    if [ "$progress" = on ]; then
        [ "$notices" -ge 1 ] && [ "$notices" -le 4 ] || { cat "$DIR/timeout.out" >&2; fail "expected 1 to 4 progress NOTICEs in 4 s"; }
    else
        [ "$notices" -eq 0 ] || fail "progress NOTICEs while customer_segment.progress is off"
    fi
done
for after in 0.5 3; do
    P -c "SET application_name = 'cs_cancel'" -c "$LONG_FIT" >"$DIR/cancel.out" 2>&1 &
    fit=$!
    sleep "$after"
    t0=$(now)
    [ "$(P -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'cs_cancel'")" = t ] \
        || fail "no fit to cancel"
    wait $fit && fail "the cancelled fit succeeded"
    t1=$(now)
    grep -q "canceling statement due to user request" "$DIR/cancel.out" || { cat "$DIR/cancel.out" >&2; fail "not cancelled"; }
    check_latency "pg_cancel_backend ${after}s into the fit" "$(elapsed "$t0" "$t1")"
done
[ "$(P -c "SELECT count(*) FROM segment_model WHERE name = 'never_stored'")" = 0 ] \
    || fail "a cancelled fit left catalog rows"
echo "cancel: worst latency $worst s; catalog rows left by stopped fits: 0"
source "$REPO/tests/stress/cancel_methods.sh"   # 2b: every method, a 200 ms timeout

# ---------------------------------------------------------------------------------------------
log "3/8 crash: SIGKILL of a backend in the middle of a fit"
P -c "SELECT version FROM segment_fit('people', ARRAY['spend', 'visits'], 4, name => 'kept')" >/dev/null
before=$(P -c "SELECT md5(string_agg(segment_assign('kept', p)::text, ',' ORDER BY id)) FROM people p")
P -c "SET application_name = 'cs_doomed'" -c "${LONG_FIT//never_stored/doomed}" >"$DIR/crash.out" 2>&1 &
fit=$!
sleep 2
pid=$(P -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'cs_doomed'")
[ -n "$pid" ] || fail "no fit to kill"
kill -9 "$pid"
wait $fit && fail "the killed fit succeeded"
for _ in $(seq 1 60); do
    as_pg "$PG_BIN/pg_isready" -q -h "$DIR" -p "$PORT" && P -c "SELECT 1" >/dev/null 2>&1 && break
    sleep 1
done
grep -q "terminated by signal 9" "$DIR/server.log" || fail "the server log does not show the kill"
P -c "SELECT 1" >/dev/null || fail "the server did not recover"
[ "$(P -c "SELECT count(*) FROM segment_model WHERE name = 'doomed'")" = 0 ] || fail "a partial model survived the crash"
[ "$(P -c "SELECT count(*) FROM segment_model_access WHERE name = 'doomed'")" = 0 ] || fail "a partial name survived the crash"
after=$(P -c "SELECT md5(string_agg(segment_assign('kept', p)::text, ',' ORDER BY id)) FROM people p")
[ "$before" = "$after" ] || fail "the earlier model assigns differently after recovery"
echo "crash: backend $pid killed mid-fit; after recovery 0 rows of the killed fit, the earlier model assigns the same 20000 rows"

# ---------------------------------------------------------------------------------------------
log "4/8 memory: customer_segment.max_memory_mb"
P -c "CREATE TABLE big AS SELECT random() AS a, random() AS b, random() AS c, random() AS d
      FROM generate_series(1, 2000000)"
PEAK="SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s*(\d+)'))[1]::bigint / 1024"
out=$(P -v VERBOSITY=verbose -c "SET customer_segment.max_memory_mb = 32" \
        -c "SELECT * FROM segment_fit('big', ARRAY['a', 'b', 'c', 'd'], 8, name => 'too_big')" 2>&1) \
    && fail "a fit over max_memory_mb succeeded"
echo "$out" | grep -q "ERROR:  54000: .*max_memory_mb" || { echo "$out" >&2; fail "not refused with 54000 naming the setting"; }
echo "memory: k-means on a 61 MB matrix with max_memory_mb = 32: refused with SQLSTATE 54000"
read -r base peak used fitted < <(P -F ' ' -c "SET customer_segment.max_memory_mb = 32" -c "$PEAK" \
    -c "SELECT rows_used, rows_fitted FROM segment_fit('big', ARRAY['a', 'b', 'c', 'd'], 8,
          name => 'streamed', options => '{\"method\": \"minibatch_kmeans\"}')" -c "$PEAK" | paste -sd' ' | awk '{print $1, $4, $2, $3}')
grow=$((peak - base))
echo "memory: minibatch_kmeans on the same 2000000 rows with max_memory_mb = 32: rows_used $used," \
     "rows_fitted $fitted, backend peak RSS ${peak} MB (${grow} MB above the session's start)"
[ "$grow" -le 96 ] || fail "the streamed fit grew the backend by ${grow} MB (bound: 32 MB budget + 64 MB)"

# ---------------------------------------------------------------------------------------------
log "5/8 a BI tool's view: segment_create_view read by a separate client"
python3 -c 'import psycopg' 2>/dev/null || python3 -m pip install -q 'psycopg[binary]'
P -c "ALTER TABLE people ADD PRIMARY KEY (id)"
P -c "SELECT segment_create_view('kept', 'people', 'people_segments')" >/dev/null
DSN="host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
python3 "$REPO/tests/stress/bi_client.py" "$DSN" people_segments 20000 || fail "the BI client could not read the view"

# ---------------------------------------------------------------------------------------------
log "6/8 pictures: segment_plot parsed as XML and rendered by a real SVG renderer"
if ! command -v rsvg-convert >/dev/null; then
    if is_root; then
        apt-get install -y -qq librsvg2-bin >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq librsvg2-bin >/dev/null; }
    else
        fail "rsvg-convert is missing: sudo apt-get install -y librsvg2-bin"
    fi
fi
# Every kind of picture: a model with a scanned k draws the elbow, a churn model the tree. A label
# with the characters XML escapes shows that the escaping holds. Each SVG must be well-formed XML
# (Python's parser: the SQL test counts elements in the text, since PostgreSQL builds without
# libxml cannot parse it) and render to a picture that is not blank.
P -c "CREATE TABLE accounts AS SELECT (i % 40)::float8 AS tenure, ((i * 7) % 13)::float8 AS calls,
          (i % 40) < 8 AND (i * 7) % 13 > 6 AS left_us FROM generate_series(1, 400) i" \
  -c "SELECT segment_rename('kept', 0, 'Retail <grocery & paper>')" \
  -c "SELECT model FROM segment_fit('people', ARRAY['spend', 'visits'], NULL, name => 'scanned',
                                    options => '{\"k_min\": 2, \"k_max\": 4}')" \
  -c "SELECT model FROM segment_churn_fit('accounts', ARRAY['tenure', 'calls'], 'left_us', name => 'accounts_churn')" >/dev/null
for plot in "kept scatter" "kept profile" "scanned elbow" "accounts_churn tree"; do
    read -r model kind <<<"$plot"
    P -c "SELECT segment_plot('$model', '$kind')" > "$DIR/$kind.svg"
    python3 -c 'import sys, xml.etree.ElementTree as E; root = E.parse(sys.argv[1]).getroot(); assert root.tag.endswith("svg"), root.tag' \
        "$DIR/$kind.svg" || fail "the $kind plot is not a well-formed SVG document"
    rsvg-convert -o "$DIR/$kind.png" "$DIR/$kind.svg" || fail "rsvg-convert could not render the $kind plot"
    python3 "$REPO/tests/stress/png_check.py" "$DIR/$kind.png" || fail "the $kind picture is blank or broken"
done
echo "pictures: scatter, profile, elbow and tree are well-formed SVG documents and render to PNG"

# ---------------------------------------------------------------------------------------------
log "7/8 two fits racing for one new name with different features"
# A fits "race" on spend and holds its transaction open; B, started meanwhile, finds no model
# yet, fits visits, and waits for the name's lock to store it. When A commits, B must see A's
# version and refuse (42710) instead of storing a version that means something else.
( P -c "BEGIN" -c "SELECT version FROM segment_fit('people', ARRAY['spend'], 2, name => 'race')" \
    -c "SELECT pg_sleep(3)" -c "COMMIT" >"$DIR/race_a" 2>&1 ) &
sleep 1
P -c "SELECT version FROM segment_fit('people', ARRAY['visits'], 2, name => 'race')" >"$DIR/race_b" 2>&1 || true
wait
cat "$DIR/race_a" "$DIR/race_b"
grep -q "ERROR" "$DIR/race_a" && fail "the first fit failed"
grep -q 'this fit would change what it means: features' "$DIR/race_b" ||
    fail "the second fit was not refused after the first committed"
[ "$(P -c "SELECT string_agg(version || ':' || array_to_string(features, ','), ' ') FROM segment_models WHERE name = 'race'")" = "1:spend" ] ||
    fail "the name holds something other than the first fit's one version"

# ---------------------------------------------------------------------------------------------
log "8/8 the model cache against another session's changes (tests/stress/model_cache.py)"
python3 "$REPO/tests/stress/model_cache.py" "$DSN" people || fail "a session's cached model was stale"

source "$REPO/tests/stress/seeded_scan.sh"
source "$REPO/tests/stress/backtrace.sh"
source "$REPO/tests/stress/sqlsmith.sh"
source "$REPO/tests/stress/dbt.sh"        # the dbt example project (examples/dbt, docs/dbt.md)
source "$REPO/tests/stress/browser.sh"    # every picture and report page in headless Chromium

log "stress tier passed"
