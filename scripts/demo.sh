#!/usr/bin/env bash
# Builds and installs customer_segment (release), starts a throwaway PostgreSQL cluster of its
# own, loads the bundled wholesale customers, segments them and shows the result. Leaves the
# cluster running. Safe to run again.
#   PG_MAJOR=18 bash scripts/demo.sh (or --pg 18): on PostgreSQL 15 (default), 16, 17 or 18
#   DEMO_DIR (default /tmp/customer_segment_demo, for 18 /tmp/customer_segment_demo_pg18),
#   DEMO_PORT (default 54329; 54429, 54529, 54629 for 16, 17, 18)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg_option.sh"
[ $# -eq 0 ] || { echo "usage: [PG_MAJOR=N] $0 [--pg N]" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO_DIR=${DEMO_DIR:-/tmp/customer_segment_demo$PG_SUFFIX}
DEMO_PORT=${DEMO_PORT:-$((54329 + PG_PORT_OFFSET))}

ensure_all
install_extension --release

log "starting the demo cluster (PostgreSQL $PG_MAJOR) in $DEMO_DIR on port $DEMO_PORT"
start_cluster "$DEMO_DIR" "$DEMO_PORT"
cp "$REPO/tests/data/wholesale_customers/wholesale_customers.csv" "$REPO/examples/demo.sql" "$DEMO_DIR/"
pg_workdir "$DEMO_DIR"

cluster_psql "$DEMO_DIR" "$DEMO_PORT" -q -d postgres -c 'DROP DATABASE IF EXISTS customer_segment_demo' \
    -c 'CREATE DATABASE customer_segment_demo'
log "segmenting the wholesale customers"
(cd "$DEMO_DIR" && cluster_psql "$DEMO_DIR" "$DEMO_PORT" -q -d customer_segment_demo -f demo.sql)

PSQL_CMD="$PG_BIN/psql -h $DEMO_DIR -p $DEMO_PORT -U postgres customer_segment_demo"
STOP_CMD="$PG_BIN/pg_ctl -D $DEMO_DIR/data stop"
if is_root; then
    PSQL_CMD="runuser -u postgres -- $PSQL_CMD"
    STOP_CMD="runuser -u postgres -- $STOP_CMD"
fi
cat <<MSG

The demo cluster is still running.
  connect:  $PSQL_CMD
  stop:     $STOP_CMD
  then:     the README's Getting started runs there as written (the demo's own model and view
            are wholesale_demo and wholesale_demo_segments)
MSG
