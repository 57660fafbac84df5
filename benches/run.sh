#!/usr/bin/env bash
# Runs the benchmarks against a cluster of their own (port 54330; PG_MAJOR=18: 54630), with the
# release build.
#   BENCH_ROWS (default 1000000), BENCH_REPEAT (default 3), BENCH_N_INIT (default 10),
#   BENCH_METHOD_ROWS (default 100000: the gmm comparison), BENCH_CHURN_ROWS (default 1000000),
#   BENCH_RFM_TRANSACTIONS (default 10000000), BENCH_RFM_CUSTOMERS (default 1000000),
#   BENCH_CLV_CUSTOMERS (default 1000000), BENCH_BIG_ROWS (default 10000000: scale.py),
#   BENCH_LABEL_ROWS (default 100000: labels.py), BENCH_CLASSIFY_ROWS (default 1000000: classify.py),
#   BENCH_MIXED_ROWS (default 25000), BENCH_MIXED_N_INIT (default 10: mixed.py, k-prototypes),
#   BENCH_STABILITY_RUNS_SMALL (default 100), BENCH_STABILITY_RUNS (default 50: stability.py,
#   segment_stability on the wholesale and bank rows against the clusterboot reference),
#   BENCH_CONSTRAINED_ROWS (default "20000 100000"), BENCH_CONSTRAINED_N_INIT (default 3:
#   constrained.py, min_share and max_share against k-means-constrained),
#   BENCH_NUMERIC_ROWS (default BENCH_ROWS: numeric.py),
#   BENCH_DRIVERS_ROWS (default 1000000: drivers.py, segment_drivers),
#   POINT_ROWS (default 100000), POINT_SECONDS (default 5: point.py, pgbench),
#   BENCH_HUGE_SIZES, BENCH_HUGE_MEMORY_MB (hundred_million.py: 1M, 10M and 100M rows; run only
#   when named in BENCH_ONLY),
#   ADAPT_ROWS (default 1000000: adapting.py),
#   BENCH_ONLY (targets | fit_assign | numeric | methods | scale | churn | rfm | clv | labels | classify | mixed | point | adapting | drivers | stability | constrained | citus | hundred_million | linfa); citus.py runs a
#   Citus cluster of its own (ports 54390-54392) and prints that it is skipped without Citus;
#   linfa (the core against linfa's estimators, crates/segment-core/benches/linfa_ratio.rs) needs
#   no PostgreSQL and runs only when asked for
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
if [ "${BENCH_ONLY:-}" = linfa ]; then
    log "crates/segment-core/benches/linfa_ratio.rs"
    cd "$REPO" && exec cargo bench -p segment-core --bench linfa_ratio
fi
BENCH_DIR=${BENCH_DIR:-/tmp/customer_segment_bench$PG_SUFFIX}
BENCH_PORT=${BENCH_PORT:-$((54330 + PG_PORT_OFFSET))}
ensure_all
# The benchmarks' own Python environment (BENCH_VENV, default outside the checkout): the peers of
# benches/requirements.txt, scikit-learn-intelex among them; made once, remade when the list
# changes.
VENV=${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/customer_segment/bench-venv}
if [ ! -x "$VENV/bin/python" ] || [ "$REPO/benches/requirements.txt" -nt "$VENV/.installed" ]; then
    log "making the benchmarks' Python environment ($VENV) from benches/requirements.txt"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q -r "$REPO/benches/requirements.txt"
    touch "$VENV/.installed"
fi
[ "${BENCH_SKIP_INSTALL:-}" = 1 ] || install_extension --release
start_cluster "$BENCH_DIR" "$BENCH_PORT"
cluster_psql "$BENCH_DIR" "$BENCH_PORT" -q -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = 'bench'" -At | grep -q 1 ||
    cluster_psql "$BENCH_DIR" "$BENCH_PORT" -q -d postgres -c 'CREATE DATABASE bench'
cluster_psql "$BENCH_DIR" "$BENCH_PORT" -q -d bench -c 'DROP EXTENSION IF EXISTS customer_segment CASCADE' \
    -c 'CREATE EXTENSION customer_segment'
# The peers compute on every core: so do our fits here (the server's default is half the cores,
# to leave a shared server room). Every bench session reads it; classify.py and mixed.py give
# the same count to scikit-learn and kmodes.
cluster_psql "$BENCH_DIR" "$BENCH_PORT" -q -d postgres \
    -c "ALTER DATABASE bench SET customer_segment.threads = $(nproc)"
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set on some of these machines for old OpenBLAS builds and
# slow a current numpy down: unset both for the benchmark process only.
for bench in targets fit_assign numeric methods scale churn rfm clv labels classify mixed point adapting drivers stability constrained citus hundred_million; do
    [ -n "${BENCH_ONLY:-}" ] && [ "$BENCH_ONLY" != "$bench" ] && continue
    # 100M rows (about 40 minutes, 10 GB of table): only when asked for by name
    [ "$bench" = hundred_million ] && [ -z "${BENCH_ONLY:-}" ] && continue
    log "benches/$bench.py"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE BENCH_DSN="host=127.0.0.1 port=$BENCH_PORT user=postgres dbname=bench" \
        "$VENV/bin/python" "$REPO/benches/$bench.py"
done
