#!/bin/sh
# `hawiya atr -` on every literal ATR of the pcsc-tools list: exactly one JSON
# line per input ATR, and exit status 0 or 1 (never a crash or a usage error).
# usage: cli_atr_list.sh HAWIYA_BINARY [LIST]
set -eu
hawiya=$1
list=${2:-/usr/share/pcsc/smartcard_list.txt}
[ -r "$list" ] || { echo "missing $list (Debian package pcsc-tools)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# ATR lines start in column 0; skip comments, descriptions and ".." wildcards.
grep -E '^[0-9A-Fa-f]{2}( [0-9A-Fa-f]{2})*[[:space:]]*$' "$list" >"$tmp/in" || true
want=$(wc -l <"$tmp/in")
[ "$want" -gt 3000 ] || { echo "only $want ATRs found in $list" >&2; exit 1; }
rc=0
"$hawiya" atr - <"$tmp/in" >"$tmp/out" || rc=$?
[ "$rc" -le 1 ] || { echo "hawiya atr - exited with $rc" >&2; exit 1; }
got=$(wc -l <"$tmp/out")
valid=$(grep -c '"valid":true' "$tmp/out" || true)
echo "$want ATRs in, $got JSON lines out, $valid valid"
[ "$got" -eq "$want" ] || { echo "expected $want lines" >&2; exit 1; }
# Every line is one object for the ATR on the same input line.
paste -d '|' "$tmp/in" "$tmp/out" | while IFS='|' read -r atr json; do
    hex=$(printf '%s' "$atr" | tr -d ' \r\t' | tr 'a-f' 'A-F')
    case "$json" in
    "{\"atr\":\"$hex\","*) ;;
    *) echo "line for $atr is: $json" >&2; exit 1 ;;
    esac
done
