# Sourced first by scripts/demo.sh, package.sh and test.sh, before lib.sh (which reads PG_MAJOR
# when sourced, and test.sh decides on the version matrix before sourcing it): takes the leading
# `--pg N` / `--pg=N` options off the caller's arguments into PG_MAJOR and leaves the rest.
while [ $# -gt 0 ]; do
    case $1 in
        --pg) export PG_MAJOR=$2; shift 2 ;;
        --pg=*) export PG_MAJOR=${1#--pg=}; shift ;;
        *) break ;;
    esac
done
