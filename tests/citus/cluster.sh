# A Citus cluster of our own on loopback: a coordinator and two workers, each a PostgreSQL
# cluster (initdb) with shared_preload_libraries = 'citus'. Sourced after scripts/lib.sh by
# tests/citus/run.sh and benches/citus.py; not run.
#   citus_start DIR PORT   (re)creates DIR/coordinator, DIR/worker1, DIR/worker2 on ports PORT,
#                          PORT + 1, PORT + 2, starts them, CREATE EXTENSION citus on each and
#                          registers the workers with the coordinator
#   citus_stop DIR         stops the three
#   citus_psql DIR PORT NODE [psql args...]   psql on one node (unaligned, tuples only)
CITUS_NODES="coordinator worker1 worker2"

citus_installed() { [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; }

citus_port() { # PORT NODE
    case $2 in coordinator) echo "$1" ;; worker1) echo $(($1 + 1)) ;; worker2) echo $(($1 + 2)) ;; esac
}

citus_psql() { # DIR PORT NODE [psql args...]
    local dir=$1 port=$2 node=$3
    shift 3
    cluster_psql "$dir/$node" "$(citus_port "$port" "$node")" -qAt "$@"
}

citus_stop() { # DIR
    local n
    for n in $CITUS_NODES; do stop_cluster "$1/$n"; done
}

citus_start() { # DIR PORT
    local dir=$1 port=$2 n
    citus_stop "$dir" 2>/dev/null || true
    rm -rf "$dir"
    pg_workdir "$dir"
    for n in $CITUS_NODES; do
        pg_workdir "$dir/$n"
        as_pg "$PG_BIN/initdb" -D "$dir/$n/data" -A trust -U postgres >/dev/null
        cat >>"$dir/$n/data/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
shared_buffers = '64MB'
max_connections = 60
customer_segment.progress = off
CONF
        start_cluster "$dir/$n" "$(citus_port "$port" "$n")"
    done
    for n in $CITUS_NODES; do citus_psql "$dir" "$port" "$n" -c "CREATE EXTENSION citus"; done
    citus_psql "$dir" "$port" coordinator -c "SELECT citus_set_coordinator_host('127.0.0.1', $port)" >/dev/null
    for n in worker1 worker2; do
        citus_psql "$dir" "$port" coordinator -c "SELECT citus_add_node('127.0.0.1', $(citus_port "$port" "$n"))" >/dev/null
    done
}
