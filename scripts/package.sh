#!/usr/bin/env bash
# Builds the Debian package of customer_segment for one PostgreSQL major version:
#   postgresql-<major>-customer-segment_<version>_<arch>.deb
# from `cargo pgrx package` (a release build) and prints its path. A DBA installs it with
#   apt-get install ./postgresql-15-customer-segment_0.2.0_amd64.deb
# on a machine with that PostgreSQL (Debian's postgresql-15, or the PostgreSQL Global
# Development Group's postgresql-16/17/18 for Debian: the same paths), then CREATE EXTENSION.
# Usage: [PG_MAJOR=18] bash scripts/package.sh   (or --pg 18); DEB_DIR sets where it is written
# (default target/debian/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg_option.sh"
[ $# -eq 0 ] || { echo "usage: [PG_MAJOR=N] $0 [--pg N]" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_all
cd "$REPO"
target=${CARGO_TARGET_DIR:-$REPO/target}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
name=postgresql-$PG_MAJOR-customer-segment
DEB_DIR=${DEB_DIR:-$target/debian}
tree=$target/package-pg$PG_MAJOR
root=$DEB_DIR/$name

log "cargo pgrx package for PostgreSQL $PG_MAJOR (release build)"
rm -rf "$tree"
cargo pgrx package "${PG_FEATURES[@]}" --pg-config "$PG_CONFIG" --out-dir "$tree" >&2

# `cargo pgrx package` mirrors the paths of the pg_config it was given (for a wheel, a directory
# in this checkout). The package puts the files where Debian's PostgreSQL packages look for
# them, whichever PostgreSQL we built against: the library in /usr/lib/postgresql/<major>/lib,
# the control file and the SQL scripts in /usr/share/postgresql/<major>/extension.
pkglibdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/lib/postgresql/$PG_MAJOR/lib" \
    "$root/usr/share/postgresql/$PG_MAJOR/extension" "$root/usr/share/doc/$name"
cp "$tree$pkglibdir/customer_segment.so" "$root/usr/lib/postgresql/$PG_MAJOR/lib/"
cp "$tree$sharedir"/extension/customer_segment* "$root/usr/share/postgresql/$PG_MAJOR/extension/"
strip --strip-unneeded "$root/usr/lib/postgresql/$PG_MAJOR/lib/customer_segment.so"
chmod 644 "$root/usr/lib/postgresql/$PG_MAJOR/lib/customer_segment.so" \
    "$root/usr/share/postgresql/$PG_MAJOR/extension/"*
cat >"$root/usr/share/doc/$name/copyright" <<EOF
customer_segment $version: customer segmentation in PostgreSQL.
License: MIT (see Cargo.toml). The bundled test data are not part of this package.
EOF

# The newest glibc symbol version the library needs (Debian 12 builds need at most 2.36).
glibc=$(objdump -T "$root/usr/lib/postgresql/$PG_MAJOR/lib/customer_segment.so" |
    grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
cat >"$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: customer_segment maintainers <customer-segment@localhost>
Depends: postgresql-$PG_MAJOR, libc6 (>= $glibc), libgcc-s1
Section: database
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: customer segmentation inside PostgreSQL $PG_MAJOR
 The customer_segment extension fits segments (k-means, Gaussian mixtures,
 agglomerative Ward, DBSCAN) on the rows of a table or view, stores named,
 versioned models and assigns every row its segment in any SELECT.
 After installing: CREATE EXTENSION customer_segment; (as a superuser).
EOF

mkdir -p "$DEB_DIR"
deb=$DEB_DIR/${name}_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
