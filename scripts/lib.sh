# Shared by scripts/demo.sh, scripts/test.sh and benches/: install what is missing, build, and run
# PostgreSQL clusters of our own. Sourced, not run.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PG_REGRESS=/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/test/regress/pg_regress
PGRX_VERSION=0.18.1
APT_PACKAGES="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libclang-dev sudo"

log() { printf '\n==> %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# PostgreSQL refuses to run as root: as root we run it as the "postgres" user (created by the
# Debian package); otherwise as ourselves.
PG_USER=$(is_root && echo postgres || id -un)
# RUST_BACKTRACE would make pgrx append a Rust backtrace to every ERROR the server sends.
as_pg() { if is_root; then runuser -u postgres -- env -u RUST_BACKTRACE "$@"; else env -u RUST_BACKTRACE "$@"; fi; }

ensure_system_packages() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if is_root; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Missing packages: ${missing[*]}. Run:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
}

ensure_cargo_pgrx() {
    if cargo pgrx --version 2>/dev/null | grep -q "cargo-pgrx $PGRX_VERSION"; then
        :
    else
        log "installing cargo-pgrx $PGRX_VERSION (a few minutes, once)"
        cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
    fi
    local config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
    if ! grep -qs "pg$PG_MAJOR" "$config"; then
        log "pointing pgrx at the system PostgreSQL $PG_MAJOR"
        cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG" >/dev/null
    fi
}

ensure_python_packages() {
    python3 -c 'import sklearn, numpy, psycopg, pandas, lifetimes' 2>/dev/null && return 0
    log "installing scikit-learn, numpy, pandas, psycopg, lifetimes (Python reference and benchmarks)"
    python3 -m pip install -q scikit-learn numpy pandas 'psycopg[binary]' lifetimes
}

ensure_all() {
    ensure_system_packages
    ensure_cargo_pgrx
}

install_extension() { # [--release]
    log "building and installing customer_segment ${1:-(debug)}"
    (cd "$REPO" && cargo pgrx install "$@" --pg-config "$PG_CONFIG")
}

# A directory the PostgreSQL user may write.
pg_workdir() { # path
    mkdir -p "$1"
    is_root && chown -R postgres:postgres "$1"
    return 0
}

# start_cluster DIR PORT: a cluster of our own (created on first use), listening on 127.0.0.1
# and a socket in DIR. Safe to call when it is already running.
start_cluster() {
    local dir=$1 port=$2
    pg_workdir "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
    fi
    if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    fi
}

stop_cluster() { # DIR
    as_pg "$PG_BIN/pg_ctl" -D "$1/data" -m fast stop >/dev/null 2>&1 || true
}

# psql against a cluster started by start_cluster.
cluster_psql() { # DIR PORT [psql args...]
    local dir=$1 port=$2
    shift 2
    as_pg "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"
}
