# Sourced by tests/stress/run.sh (its cluster, P and fail): random queries (SQLsmith) against a
# database with a model of every kind, as a role without superuser. sqlsmith builds its queries
# from the relations and functions the role can see: the tables, views whose columns call the
# extension's functions on every row and for every model, the extension's own functions, and
# PostgreSQL's. The tier fails on a backend crash, and on an XX000 raised by the extension (a
# panic, or an internal error of ours): every other error of a random query is expected.
# Bounded: SMITH_QUERIES queries (default 10000) with a fixed seed, and SMITH_SECONDS (180) at
# most; sqlsmith's own statement_timeout stops each query after a second.

SMITH_QUERIES=${SMITH_QUERIES:-10000}
SMITH_SECONDS=${SMITH_SECONDS:-180}
SMITH_SEED=${SMITH_SEED:-20240527}
log "random queries: SQLsmith, $SMITH_QUERIES queries (seed $SMITH_SEED) over models of every kind"
if ! command -v sqlsmith >/dev/null; then
    if is_root; then
        apt-get install -y -qq sqlsmith >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq sqlsmith >/dev/null; }
    else
        fail "sqlsmith is missing: sudo apt-get install -y sqlsmith"
    fi
fi

P -c "CREATE DATABASE smith" -c "CREATE DATABASE smith_log" -c "CREATE ROLE smith LOGIN"
S() { P -d smith "$@"; }
S -c "CREATE EXTENSION customer_segment" \
  -c "CREATE TABLE wholesale (id serial PRIMARY KEY, channel int, region int, fresh numeric,
          milk numeric, grocery numeric, frozen numeric, detergents_paper numeric, delicassen numeric)" \
  -c "CREATE TABLE bank (id serial PRIMARY KEY, age int, job text, marital text, education text,
          \"default\" text, balance int, housing text, loan text, contact text, day int, month text,
          duration int, campaign int, pdays int, previous int, poutcome text, y text)" \
  -c "CREATE TABLE cdnow (master_customer_id int, customer_id int, date date, number_of_cds int,
          dollar_value numeric)"
# Read by psql from its standard input: the server need not reach the checkout.
S -c "\\copy wholesale (channel, region, fresh, milk, grocery, frozen, detergents_paper, delicassen) FROM STDIN CSV HEADER" \
    <"$REPO/tests/data/wholesale_customers/wholesale_customers.csv"
S -c "\\copy bank (age, job, marital, education, \"default\", balance, housing, loan, contact, day, month, duration, campaign, pdays, previous, poutcome, y) FROM STDIN CSV HEADER" \
    <"$REPO/tests/data/bank_marketing/bank.csv"
S -c "\\copy cdnow FROM STDIN CSV HEADER" <"$REPO/tests/data/cdnow/cdnow_sample_transactions.csv"

# A model of every kind: each clustering method, k chosen by a scan, a refit (two versions), a
# per-group model, k-prototypes on mixed columns, a churn tree, a classifier tree and forest, CLV.
SPEND="ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen']"
MIXED="ARRAY['age', 'balance', 'duration', 'campaign', 'job', 'marital', 'housing', 'loan', 'contact']"
S -c "CREATE VIEW wholesale_log AS SELECT id, region, ln(1 + fresh) AS fresh, ln(1 + milk) AS milk,
          ln(1 + grocery) AS grocery, ln(1 + frozen) AS frozen,
          ln(1 + detergents_paper) AS detergents_paper, ln(1 + delicassen) AS delicassen
      FROM wholesale"
fits=(
    "segment_fit('wholesale_log', $SPEND, 4, name => 'km')"
    "segment_fit('wholesale_log', $SPEND, 5, name => 'km')"
    "segment_fit('wholesale_log', $SPEND, NULL, name => 'km_chosen', options => '{\"k_min\": 2, \"k_max\": 5}')"
    "segment_fit('wholesale_log', $SPEND, 3, name => 'gm', options => '{\"method\": \"gmm\"}')"
    "segment_fit('wholesale_log', $SPEND, 4, name => 'hc', options => '{\"method\": \"hierarchical\"}')"
    "segment_fit('wholesale_log', $SPEND, NULL, name => 'db', options => '{\"method\": \"dbscan\", \"eps\": 0.9, \"min_points\": 5}')"
    "segment_fit('wholesale_log', $SPEND, 4, name => 'mb', options => '{\"method\": \"minibatch_kmeans\"}')"
    "segment_fit('wholesale_log', $SPEND, 3, name => 'grp', options => '{\"group_by\": \"region\"}')"
    "segment_fit('bank', $MIXED, 4, name => 'kp', options => '{\"method\": \"kprototypes\"}')"
    "segment_churn_fit('bank', $MIXED, 'y', name => 'churn')"
    "segment_classify_fit('bank', $MIXED, 'education', name => 'tree')"
    "segment_classify_fit('bank', $MIXED, 'education', name => 'forest', options => '{\"method\": \"forest\", \"n_trees\": 20}')"
    "segment_clv_fit('cdnow', 'customer_id', 'date', 'dollar_value', '1997-09-30', name => 'clv')"
    "segment_import(segment_export('km'), 'km_copy')"
)
for f in "${fits[@]}"; do S -c "SELECT model FROM $f" >/dev/null; done
S -c "SELECT segment_rename('km', 0, 'Horeca <large>')" >/dev/null
MODELS="km km_chosen gm hc db mb grp kp churn tree forest clv km_copy"
for m in $MODELS; do S -c "SELECT segment_grant('$m', 'smith')" >/dev/null; done

# Views whose every row calls the extension: what sqlsmith's queries read, join and filter.
VIEWS="wholesale_segments bank_segments model_profile model_centroids model_labels model_rules
       model_evaluation model_drift model_versions group_models group_labels churn_rules
       churn_importance tree_rules forest_report forest_importance customer_value model_documents"
S -c "CREATE VIEW wholesale_segments AS
      SELECT w.*, segment_assign('km', w) AS km, segment_assign('gm', w) AS gm,
             segment_assign_proba('gm', w) AS gm_proba, segment_assign('hc', w) AS hc,
             segment_assign('db', w) AS db, segment_assign('mb', w) AS mb,
             segment_assign('grp', w) AS grp, segment_assign('km_chosen', w) AS km_chosen,
             (segment_explain('km', w)).margin AS km_margin,
             segment_label('km', segment_assign('km', w)) AS km_label,
             segment_assign('km', ARRAY[w.fresh, w.milk, w.grocery, w.frozen, w.detergents_paper,
                                        w.delicassen]::float8[]) AS km_array
      FROM wholesale_log w" \
  -c "CREATE VIEW bank_segments AS
      SELECT b.*, segment_assign('kp', b) AS kp, segment_churn_predict('churn', b) AS churn_risk,
             segment_churn_assign('churn', b) AS churn_leaf, segment_classify('tree', b) AS tree,
             segment_classify_proba('tree', b) AS tree_proba, segment_classify('forest', b) AS forest,
             segment_classify_proba('forest', b) AS forest_proba
      FROM bank b" \
  -c "CREATE VIEW model_profile AS SELECT * FROM segment_profile('km')" \
  -c "CREATE VIEW model_centroids AS SELECT * FROM segment_centroids('gm')" \
  -c "CREATE VIEW model_labels AS SELECT * FROM segment_labels('hc')" \
  -c "CREATE VIEW model_rules AS SELECT * FROM segment_rules('km', 2)" \
  -c "CREATE VIEW model_evaluation AS SELECT * FROM segment_evaluate('db')" \
  -c "CREATE VIEW model_drift AS SELECT * FROM segment_drift('mb')" \
  -c "CREATE VIEW model_versions AS SELECT * FROM segment_compare('km', 1, 2)" \
  -c "CREATE VIEW group_models AS SELECT * FROM segment_groups('grp')" \
  -c "CREATE VIEW group_labels AS SELECT * FROM segment_group_labels('grp')" \
  -c "CREATE VIEW churn_rules AS SELECT * FROM segment_churn_rules('churn')" \
  -c "CREATE VIEW churn_importance AS SELECT * FROM segment_churn_importance('churn')" \
  -c "CREATE VIEW tree_rules AS SELECT * FROM segment_classify_rules('tree')" \
  -c "CREATE VIEW forest_report AS SELECT * FROM segment_classify_report('forest')" \
  -c "CREATE VIEW forest_importance AS SELECT * FROM segment_classify_importance('forest')" \
  -c "CREATE VIEW customer_value AS SELECT * FROM segment_clv('clv')" \
  -c "CREATE VIEW model_documents AS
      SELECT m.name, segment_export(m.name) AS document, segment_classify_classes('tree') AS classes,
             segment_plot('km_chosen', 'elbow') AS elbow, segment_churn_tree('churn') AS tree
      FROM segment_models m WHERE m.is_current" \
  -c "GRANT SELECT ON wholesale, bank, cdnow, wholesale_log, $(echo $VIEWS | sed 's/ /, /g') TO smith" \
  -c "ALTER DATABASE smith SET log_error_verbosity = verbose" \
  -c "ALTER DATABASE smith SET log_min_error_statement = panic"
# Every view answers for the role before the random queries start.
for v in $VIEWS; do
    cluster_psql "$DIR" "$PORT" -qAt -U smith -d smith -c "SELECT count(*) FROM $v" >/dev/null ||
        fail "the role smith cannot read the view $v"
done
# sqlsmith's --log-to table schema (its log.sql, for what it writes).
P -d smith_log -c "CREATE TABLE instance (id bigserial PRIMARY KEY, rev text, target text, hostname text,
                       version text, seed text, t timestamptz DEFAULT now())" \
  -c "CREATE TABLE error (id bigint, msg text, query text, sqlstate text, t timestamptz DEFAULT now())" \
  -c "CREATE TABLE stat (id bigint, generated bigint, level float8, nodes float8, retries float8,
                         impedance text, updated timestamptz)"

log_start=$(stat -c %s "$DIR/server.log")
t0=$(date +%s)
status=0
timeout "$SMITH_SECONDS" sqlsmith --target="host=127.0.0.1 port=$PORT user=smith dbname=smith" \
    --log-to="host=127.0.0.1 port=$PORT user=postgres dbname=smith_log" --exclude-catalog \
    --seed="$SMITH_SEED" --max-queries="$SMITH_QUERIES" --verbose --dump-all-queries \
    >"$DIR/smith.queries" 2>"$DIR/smith.out" || status=$?
seconds=$(( $(date +%s) - t0 ))
# After a crash the server restarts, and sqlsmith stops (its log connection is gone too).
for _ in $(seq 1 60); do P -c "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
# Counted in the dump of every query sqlsmith generated (its own count is printed only every few
# hundred queries): how many there were, and how many read a view over the extension or name one
# of its functions.
read -r queries reached < <(awk -v views="segment_|$(echo $VIEWS | tr ' ' '|')" \
    'BEGIN { RS = ";\n" } NF { n++; if ($0 ~ views) r++ } END { print n + 0, r + 0 }' "$DIR/smith.queries")
[ "$queries" -gt 0 ] || { tail -20 "$DIR/smith.out" >&2; fail "sqlsmith ran no query"; }
errors=$(P -d smith_log -c "SELECT coalesce(string_agg(sqlstate || ' ' || n, ', ' ORDER BY n DESC, sqlstate), 'none')
                           FROM (SELECT coalesce(sqlstate, '?') AS sqlstate, count(*) AS n FROM error GROUP BY 1) e")
echo "sqlsmith: $queries queries in ${seconds}s (seed $SMITH_SEED$([ $status -eq 124 ] && echo ", stopped at ${SMITH_SECONDS}s")), $reached of them reading a view over the extension or calling it; errors by SQLSTATE: $errors"

# What the server logged meanwhile: crashes, panics, and each XX000 with its LOCATION (a
# PostgreSQL source file for PostgreSQL's own internal errors; a Rust one, or none, for ours).
tail -c +$((log_start + 1)) "$DIR/server.log" >"$DIR/smith.log"
# (A parallel worker that raised an ERROR "exited with exit code 1": not a crash.)
crashes=$(grep -cE 'terminated by signal|terminated by exception|PANIC:' "$DIR/smith.log" || true)
panics=$(grep -c 'customer_segment: panicked' "$DIR/smith.log" || true)
awk '/ERROR:  XX000: / { sub(/.*ERROR:  XX000: /, ""); pending = $0; next }
     pending != "" && /LOCATION:  / { sub(/.*LOCATION:  /, ""); print pending " | " $0; pending = "" }' \
    "$DIR/smith.log" | sort | uniq -c | sort -rn >"$DIR/smith.xx000"
ours=$(grep -vE '\.c:[0-9]+$' "$DIR/smith.xx000" || true)
theirs=$(grep -E '\.c:[0-9]+$' "$DIR/smith.xx000" || true)
echo "sqlsmith: $crashes backend crashes, $panics panics, XX000 of the extension: $(echo -n "$ours" | grep -c . || true) kinds, of PostgreSQL's own functions: $(echo -n "$theirs" | grep -c . || true) kinds"
[ -z "$theirs" ] || { echo "PostgreSQL's own internal errors (count | message | location):"; echo "$theirs"; }
if [ "$crashes" -gt 0 ] || [ "$panics" -gt 0 ] || [ -n "$ours" ]; then
    grep -E -B2 -A2 'terminated by|PANIC:|customer_segment: panicked' "$DIR/smith.log" | head -40 >&2
    [ -z "$ours" ] || { echo "the extension's XX000 (count | message | location):"; echo "$ours"; } >&2
    # The queries, to replay them (sqlsmith logs a crashed backend's query with the connection's
    # error).
    P -d smith_log -c "SELECT sqlstate, msg, query || ';' FROM error
                       WHERE sqlstate IN ('XX000', '') OR sqlstate LIKE '08%' OR sqlstate IS NULL
                          OR msg ~ 'server closed'" \
        >"$DIR/smith.failing.sql"
    echo "failing queries in $DIR/smith.failing.sql" >&2
    fail "sqlsmith found a crash or an internal error of the extension"
fi
[ $status -eq 0 ] || [ $status -eq 124 ] || { tail -20 "$DIR/smith.out" >&2; fail "sqlsmith failed (exit $status)"; }
