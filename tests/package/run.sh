#!/usr/bin/env bash
# The Debian package, as a DBA uses it, on Debian's PostgreSQL 15 (part of the reliability tier):
#   1. scripts/package.sh builds postgresql-15-customer-segment_<version>_<arch>.deb; its files
#      sit where Debian's PostgreSQL 15 looks for them
#   2. apt-get install ./that.deb installs it (dpkg knows its files)
#   3. on a throwaway cluster: CREATE EXTENSION, a fit, every row assigned, DROP EXTENSION
#   4. apt-get remove takes its files away again
# Root only (it installs into the system). It replaces the extension files that `cargo pgrx
# install` put there and removes them at the end: scripts/test.sh installs the release build
# again afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
[ "$PG_MAJOR" = 15 ] || { echo "the package test runs on Debian's PostgreSQL 15 only" >&2; exit 2; }
is_root || { echo "the package test installs a .deb into the system: run it as root" >&2; exit 2; }

DIR=${PACKAGE_DIR:-/tmp/customer_segment_package}
PORT=${PACKAGE_PORT:-54342}
NAME=postgresql-15-customer-segment
fail() { echo "PACKAGE FAILED: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}' "$NAME" 2>/dev/null | grep -q "install ok installed"; }
remove() { DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq --purge "$NAME" >/dev/null; }

# A package left by an interrupted run would make the install below a no-op.
installed && remove

deb=$(bash "$REPO/scripts/package.sh" | tail -1)
[ -f "$deb" ] || fail "scripts/package.sh made no package"

# ---------------------------------------------------------------------------------------------
# 1. What is in it.
libdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension
version=$(dpkg-deb -f "$deb" Version)
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
upgrades=()
for script in "$REPO"/sql/customer_segment--*--*.sql; do upgrades+=("$extdir/$(basename "$script")"); done
for f in "$libdir/customer_segment.so" "$extdir/customer_segment.control" \
         "$extdir/customer_segment--$version.sql" "${upgrades[@]}"; do
    grep -qx "$f" <<<"$contents" || { echo "$contents" >&2; fail "$(basename "$deb") lacks $f"; }
done
echo "package: $(basename "$deb") ($(du -h "$deb" | cut -f1)), $(grep -c 'customer_segment' <<<"$contents") files of the extension; Depends: $(dpkg-deb -f "$deb" Depends)"

# ---------------------------------------------------------------------------------------------
# 2. Installed by apt-get, the way a DBA does it.
trap 'stop_cluster "$DIR"; installed && remove' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null || fail "apt-get install $deb failed"
installed || fail "apt-get install left $NAME not installed"
dpkg -L "$NAME" | grep -qx "$libdir/customer_segment.so" || fail "dpkg does not list $libdir/customer_segment.so as the package's"
echo "package: apt-get install ./$(basename "$deb"): $NAME $(dpkg-query -W -f='${Version}' "$NAME") installed, $(dpkg -L "$NAME" | grep -c customer_segment) files"

# ---------------------------------------------------------------------------------------------
# 3. Used: a fresh cluster of the system PostgreSQL, the extension from the package.
stop_cluster "$DIR" 2>/dev/null || true
rm -rf "$DIR"
start_cluster "$DIR" "$PORT"
cd "$DIR"
P() { cluster_psql "$DIR" "$PORT" -qAt "$@"; }
P -c "CREATE EXTENSION customer_segment"
[ "$(P -c "SELECT extversion FROM pg_extension WHERE extname = 'customer_segment'")" = "$version" ] \
    || fail "CREATE EXTENSION did not give version $version"
P -c "CREATE TABLE people AS
      SELECT i AS id, ((i * 7919) % 1000) / 10.0 AS spend, ((i * 104729) % 997) / 10.0 AS visits
      FROM generate_series(1, 5000) i"
P -c "SET customer_segment.progress = off" \
  -c "SELECT segments FROM segment_fit('people', ARRAY['spend', 'visits'], 4, name => 'packaged')" | grep -qx 4 \
    || fail "the fit did not make 4 segments"
read -r rows segments < <(P -F ' ' -c "SELECT count(s), count(DISTINCT s) FROM (SELECT segment_assign('packaged', p) AS s FROM people p) a")
[ "$rows" = 5000 ] && [ "$segments" = 4 ] || fail "assigned $rows of 5000 rows to $segments segments (expected 4)"
P -c "DROP EXTENSION customer_segment"
echo "package: CREATE EXTENSION customer_segment $version from the package, fitted 4 segments, assigned all 5000 rows, DROP EXTENSION"
stop_cluster "$DIR"

# ---------------------------------------------------------------------------------------------
# 4. Removed.
remove
installed && fail "apt-get remove left $NAME installed"
[ ! -e "$libdir/customer_segment.so" ] || fail "apt-get remove left $libdir/customer_segment.so"
[ ! -e "$extdir/customer_segment.control" ] || fail "apt-get remove left $extdir/customer_segment.control"
echo "package: apt-get remove $NAME: its files are gone"
