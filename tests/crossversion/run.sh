#!/usr/bin/env bash
# The crossversion tier: a database of PostgreSQL 15 with models, dumped by 15's pg_dump and
# restored into PostgreSQL 18 (what a DBA does to move to a newer major version), must hold the
# same models and assign every row identically.
#   1. on 15: a table of 20,000 customers (numbers, a text and a boolean column) and models of
#      every kind: k-means with one-hot features, refitted (version 2) and with a renamed
#      segment, a Gaussian mixture, Ward, DBSCAN, mini-batch k-means, a per-group model and a
#      churn tree
#   2. pg_dump (15's) of the whole database, restored with 18's psql into a fresh database
#   3. per model, on both sides: the md5 of every row's segment (and gmm's probabilities, the
#      churn probabilities, the labels), the catalog listing and each model's exported document;
#      any difference fails
# Runs on two throwaway clusters of its own (15: port 54344, 18: port 54644), in about half a
# minute once both builds are installed. Usage: tests/crossversion/run.sh (scripts/test.sh
# crossversion installs the release build into both versions first).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

FROM=${CROSS_FROM:-15}
TO=${CROSS_TO:-18}
DIR=${CROSS_DIR:-/tmp/customer_segment_crossversion}
PORT_FROM=$((54344 + (FROM - PG_PRIMARY) * 100))
PORT_TO=$((54344 + (TO - PG_PRIMARY) * 100))
fail() { echo "CROSSVERSION FAILED: $*" >&2; exit 1; }

# on MAJOR command...: the cluster helpers of scripts/lib.sh with that version's programs.
on() { local major=$1; shift; (PG_BIN=$(pg_bin_of "$major"); "$@"); }
for v in "$FROM" "$TO"; do on "$v" stop_cluster "$DIR/$v" 2>/dev/null || true; done
rm -rf "$DIR"
pg_workdir "$DIR"
on "$FROM" start_cluster "$DIR/$FROM" "$PORT_FROM"
on "$TO" start_cluster "$DIR/$TO" "$PORT_TO"
trap 'on "$FROM" stop_cluster "$DIR/$FROM"; on "$TO" stop_cluster "$DIR/$TO"' EXIT
# psql and pg_dump run as the postgres user when we are root: work from a directory it may enter.
cd "$DIR"
OLD() { on "$FROM" cluster_psql "$DIR/$FROM" "$PORT_FROM" -qAt -d customers "$@"; }
NEW() { on "$TO" cluster_psql "$DIR/$TO" "$PORT_TO" -qAt -d customers "$@"; }
for v in "$FROM" "$TO"; do
    server=$(on "$v" cluster_psql "$DIR/$v" $((54344 + (v - PG_PRIMARY) * 100)) -qAt -d postgres \
        -c "SELECT current_setting('server_version_num')::int / 10000")
    [ "$server" = "$v" ] || fail "the cluster for PostgreSQL $v runs PostgreSQL $server"
done

# ---------------------------------------------------------------------------------------------
# 1. Models of every kind on the old version.
on "$FROM" cluster_psql "$DIR/$FROM" "$PORT_FROM" -qAt -d postgres -c "CREATE DATABASE customers"
OLD -c "CREATE EXTENSION customer_segment"
OLD -c "CREATE TABLE customers AS
        SELECT i AS id,
               ((i * 7919) % 1000) / 10.0 AS spend,
               ((i * 104729) % 997) / 10.0 AS visits,
               ((i * 31) % 97)::float8 AS tenure,
               (ARRAY['web', 'store', 'phone'])[1 + i % 3] AS channel,
               i % 4 = 0 AS member,
               (ARRAY['north', 'south'])[1 + i % 2] AS region,
               ((i * 7919) % 1000) < 300 AND ((i * 104729) % 997) < 500 OR i % 13 = 0 AS churned
        FROM generate_series(1, 20000) i" \
    -c "ALTER TABLE customers ADD PRIMARY KEY (id)" \
    -c "CREATE VIEW some_customers AS SELECT * FROM customers WHERE id <= 2000"
FEATURES="ARRAY['spend', 'visits', 'tenure']"
OLD -c "SET customer_segment.progress = off" \
    -c "SELECT model FROM segment_fit('customers', ARRAY['spend', 'visits', 'tenure', 'channel', 'member'], 5, name => 'kmeans')" \
    -c "SELECT model FROM segment_fit('customers', ARRAY['spend', 'visits', 'tenure', 'channel', 'member'], 5, name => 'kmeans', options => '{\"seed\": 7}')" \
    -c "SELECT segment_rename('kmeans', 1, 'Loyal regulars')" \
    -c "SELECT model FROM segment_fit('customers', $FEATURES, 3, name => 'gmm', options => '{\"method\": \"gmm\"}')" \
    -c "SELECT model FROM segment_fit('some_customers', $FEATURES, 4, name => 'ward', options => '{\"method\": \"hierarchical\"}')" \
    -c "SELECT model FROM segment_fit('some_customers', $FEATURES, name => 'dbscan', options => '{\"method\": \"dbscan\", \"eps\": 0.5}')" \
    -c "SELECT model FROM segment_fit('customers', $FEATURES, 4, name => 'minibatch', options => '{\"method\": \"minibatch_kmeans\"}')" \
    -c "SELECT model FROM segment_fit('customers', $FEATURES, 3, name => 'by_region', options => '{\"group_by\": \"region\"}')" \
    -c "SELECT model FROM segment_churn_fit('customers', ARRAY['spend', 'visits', 'tenure', 'channel'], 'churned', name => 'churn')" \
    >/dev/null

# What each model says about every row, as one md5 per question (the same text on both sides or
# the test fails). The catalog listing and each exported document (a per-group model has none:
# its groups do) must survive too.
CHECKS=$(cat <<'SQL'
SELECT 'catalog', md5(string_agg(concat_ws(' ', name, version, method, k, rows_used, is_current), ';' ORDER BY name, version)), count(*) FROM segment_models
UNION ALL SELECT 'exported ' || name, md5(segment_export(name)::text), 1 FROM segment_models WHERE is_current AND method IS DISTINCT FROM 'grouped'
UNION ALL
SELECT 'assign ' || m, md5(string_agg(coalesce(segment_assign(m, c)::text, '-'), ',' ORDER BY id)), count(*)
FROM unnest(ARRAY['kmeans', 'gmm', 'ward', 'dbscan', 'minibatch', 'by_region', 'churn']) m, customers c GROUP BY m
UNION ALL
SELECT 'labels ' || m, md5(string_agg(s || ' ' || segment_label(m, s), ';' ORDER BY s)), count(*)
FROM unnest(ARRAY['kmeans', 'gmm', 'ward', 'minibatch']) m, generate_series(0, 2) s GROUP BY m
UNION ALL
SELECT 'probabilities gmm', md5(string_agg(segment_assign_proba('gmm', c)::text, ';' ORDER BY id)), count(*) FROM customers c
UNION ALL
SELECT 'churn probability', md5(string_agg(segment_churn_predict('churn', c)::text, ';' ORDER BY id)), count(*) FROM customers c
ORDER BY 1
SQL
)
OLD -F ' ' -c "$CHECKS" >"$DIR/before.txt"
[ "$(grep -c '^assign ' "$DIR/before.txt")" = 7 ] || { cat "$DIR/before.txt" >&2; fail "not every model assigned on $FROM"; }

# ---------------------------------------------------------------------------------------------
# 2. pg_dump of the old version, restored into the new one.
as_pg "$(pg_bin_of "$FROM")/pg_dump" -h "$DIR/$FROM" -p "$PORT_FROM" -U postgres \
    --restrict-key=customersegmentcross customers >"$DIR/customers.sql"
on "$TO" cluster_psql "$DIR/$TO" "$PORT_TO" -qAt -d postgres -c "CREATE DATABASE customers"
NEW -q -f "$DIR/customers.sql" >"$DIR/restore.log" 2>&1 || { cat "$DIR/restore.log" >&2; fail "the dump of $FROM did not restore into $TO"; }
echo "crossversion: pg_dump $("$(pg_bin_of "$FROM")/pg_dump" --version | awk '{print $3}') of a database with $(grep -c '^exported ' "$DIR/before.txt") exported models and a per-group one ($(wc -c <"$DIR/customers.sql") bytes), restored with psql into PostgreSQL $(NEW -c 'SHOW server_version')"

# ---------------------------------------------------------------------------------------------
# 3. The same answers.
NEW -F ' ' -c "$CHECKS" >"$DIR/after.txt"
if ! diff -u --label "PostgreSQL $FROM" --label "PostgreSQL $TO (restored)" "$DIR/before.txt" "$DIR/after.txt"; then
    fail "after the restore into $TO the models answer differently (above: - $FROM, + $TO)"
fi
while read -r what name md5 rows; do
    [ "$what" = assign ] && echo "crossversion: $name assigns the same $rows rows on $FROM and $TO"
done <"$DIR/after.txt"
echo "crossversion: the catalog, $(grep -c '^exported ' "$DIR/after.txt") exported documents, the labels, gmm's probabilities and the churn probabilities are the same ($(wc -l <"$DIR/after.txt") checks)"
