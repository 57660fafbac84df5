# Sourced by tests/stress/run.sh after "2/7 cancel" (issue 27, item 2): it uses run.sh's cluster
# and its P, fail, now, elapsed and below. Cancel must work in every method, not only k-means'
# Lloyd steps: each call below would run 10 s or more (CANCEL_PROVE=1 checks that: each must still
# be running when a 10 s timeout stops it; about two minutes), and a 200 ms statement_timeout must
# end it within 2 s of wall time (a generous bound, not a benchmark), with
# "canceling statement due to statement timeout" and no catalog row left. Each runs on one thread
# and on two (customer_segment.threads): on two the calling thread checks between its items and
# the other thread stops at its next one.
#
# The inputs are read in well under 200 ms (at most 120,000 rows, or 36,000 customers' 144,000
# transactions), so the timeout fires in the computation itself; except the churn tree, whose
# time is dominated by reading (a tree on 120,000 rows takes half a second, one that takes 10 s
# needs 2M rows): there the timeout fires while the rows are read; the tree's own loop
# (cart::grow) is the forest's, checked here on 120,000 rows.
# segment_profile reads the profile stored at fit time and has no loop to stop.

log "2b cancel per method: a 200 ms statement_timeout stops each method's long loops"
P -c "SELECT setseed(0.27)" \
  -c "CREATE TABLE cm_points AS
      SELECT i AS id, random() + (i % 3) AS a, random() * 2 - (i % 5) AS b, random() AS c,
             (ARRAY['north', 'south', 'east', 'west', 'web', 'phone', 'shop', 'fair'])[1 + i % 8] AS seg,
             (i % 7 + (random() * 2)::int) % 7 AS label
      FROM generate_series(1, 120000) i" \
  -c "CREATE TABLE cm_line AS SELECT random() AS a, i::float8 AS b FROM generate_series(1, 50000) i" \
  -c "CREATE TABLE cm_churn AS SELECT random() AS a, random() AS b, random() AS c, random() < 0.3 AS churned
      FROM generate_series(1, 2000000)" \
  -c "CREATE TABLE cm_tx AS
      SELECT c AS customer, timestamptz '2024-01-01' + random() * 700 * interval '1 day' AS at,
             5 + random() * 100 AS amount
      FROM generate_series(1, 36000) c, generate_series(1, 1 + c % 7)" \
  -c "SET customer_segment.silhouette_sample = 100" -c "SET customer_segment.progress = off" \
  -c "SELECT version FROM segment_fit('cm_points', ARRAY['a', 'b', 'c'], 4, name => 'cm_eval')" >/dev/null

# label | settings | the statement
CANCEL_METHODS=(
"kmeans (silhouette of 120,000 rows)|SET customer_segment.silhouette_sample = 120000|
 SELECT * FROM segment_fit('cm_points', ARRAY['a', 'b', 'c'], 8, name => 'cm_kmeans', options => '{\"n_init\": 1}')"
"gmm|SELECT 1|
 SELECT * FROM segment_fit('cm_points', ARRAY['a', 'b', 'c'], 12, name => 'cm_gmm',
                           options => '{\"method\": \"gmm\", \"n_init\": 1000, \"tol\": 0}')"
"hierarchical (50,000 rows)|SELECT 1|
 SELECT * FROM segment_fit('cm_points', ARRAY['a', 'b', 'c'], 4, name => 'cm_ward',
                           options => '{\"method\": \"hierarchical\", \"sample_rows\": 50000}')"
"dbscan (50,000 rows, every pair in the sweep)|SELECT 1|
 SELECT * FROM segment_fit('cm_line', ARRAY['a', 'b'], NULL, name => 'cm_dbscan',
                           options => '{\"method\": \"dbscan\", \"eps\": 2, \"min_points\": 3, \"sample_rows\": 50000, \"scale\": \"none\"}')"
"minibatch_kmeans|SELECT 1|
 SELECT * FROM segment_fit('cm_points', ARRAY['a', 'b', 'c'], 50, name => 'cm_minibatch',
                           options => '{\"method\": \"minibatch_kmeans\", \"epochs\": 1000, \"tol\": 0, \"batch_size\": 1000000}')"
"kprototypes|SELECT 1|
 SELECT * FROM segment_fit('cm_points', ARRAY['a', 'b', 'c', 'seg'], 20, name => 'cm_kprototypes',
                           options => '{\"method\": \"kprototypes\", \"n_init\": 1000}')"
"segment_choose_k (silhouettes of 120,000 rows)|SET customer_segment.silhouette_sample = 120000|
 SELECT * FROM segment_choose_k('cm_points', ARRAY['a', 'b', 'c'], 2, 12)"
"churn tree (2M rows)|SELECT 1|
 SELECT * FROM segment_churn_fit('cm_churn', ARRAY['a', 'b', 'c'], 'churned', name => 'cm_churn',
                                 options => '{\"max_depth\": 30, \"min_samples_leaf\": 1}')"
"classifier forest|SELECT 1|
 SELECT * FROM segment_classify_fit('cm_points', ARRAY['a', 'b', 'c'], 'label', name => 'cm_forest',
                                    options => '{\"method\": \"forest\", \"n_trees\": 500, \"max_depth\": 10}')"
"segment_clv_fit (36,000 customers)|SELECT 1|
 SELECT * FROM segment_clv_fit('cm_tx', 'customer', 'at', 'amount', '2025-06-01', name => 'cm_clv')"
"segment_evaluate (silhouette of 120,000 rows)|SET customer_segment.silhouette_sample = 120000|
 SELECT * FROM segment_evaluate('cm_eval')"
)

# stopped_by TIMEOUT_MS THREADS SETTING STATEMENT: runs it; fails unless the timeout stopped it;
# prints the wall time.
stopped_by() {
    local t0 t1
    t0=$(now)
    P -c "SET statement_timeout = $1" -c "SET customer_segment.threads = $2" \
      -c "SET customer_segment.progress = off" -c "$3" -c "$4" >"$DIR/cancel_method.out" 2>&1 \
        && fail "it finished before its $1 ms timeout: the input is too small to show a cancel"
    t1=$(now)
    grep -q "canceling statement due to statement timeout" "$DIR/cancel_method.out" \
        || { cat "$DIR/cancel_method.out" >&2; fail "not stopped by the timeout"; }
    elapsed "$t0" "$t1"
}

worst_method=0
for entry in "${CANCEL_METHODS[@]}"; do
    IFS='|' read -r label setting statement <<<"$entry"
    statement=${entry#*|*|}
    if [ "${CANCEL_PROVE:-0}" = 1 ]; then
        wall=$(stopped_by 10000 2 "$setting" "$statement") || exit 1
        echo "cancel: $label still ran after 10 s (stopped at $wall s)"
    fi
    walls=()
    for threads in 1 2; do
        wall=$(stopped_by 200 "$threads" "$setting" "$statement") || exit 1
        below "$wall" 2.0 || fail "$label on $threads thread(s) took $wall s to stop under a 200 ms timeout"
        below "$worst_method" "$wall" && worst_method=$wall
        walls+=("$wall")
    done
    echo "cancel: $label ended ${walls[0]} s (1 thread) and ${walls[1]} s (2 threads) after it started"
done
left=$(P -c "SELECT count(*) FROM segment_model WHERE name LIKE 'cm\_%' AND name <> 'cm_eval'")
[ "$left" = 0 ] || fail "stopped calls left $left catalog rows"
left=$(P -c "SELECT count(*) FROM segment_model_access WHERE name LIKE 'cm\_%' AND name <> 'cm_eval'")
[ "$left" = 0 ] || fail "stopped calls left $left names in segment_model_access"
echo "cancel: ${#CANCEL_METHODS[@]} methods stopped by a 200 ms timeout within $worst_method s at worst; catalog rows left: 0"
P -c "SELECT segment_drop('cm_eval')" -c "DROP TABLE cm_points, cm_line, cm_churn, cm_tx" >/dev/null
