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

# Garbage, blank and comment lines, a 100 kB line, bytes that are not text:
# one line per non-blank input, exit 1, no crash.
{
    printf '\n   \n# comment\nzz\n3B 00\n3B0\n\001\377\n'
    head -c 100000 /dev/zero | tr '\0' 'A'
    printf '\n3F\n'
} >"$tmp/junk"
rc=0
"$hawiya" atr - <"$tmp/junk" >"$tmp/junk.out" || rc=$?
[ "$rc" -eq 1 ] || { echo "junk: exit $rc, expected 1" >&2; exit 1; }
[ "$(wc -l <"$tmp/junk.out")" -eq 6 ] || { echo "junk: wrong line count" >&2; cat "$tmp/junk.out" >&2; exit 1; }
grep -q '"error":"ATR_ERR_TOO_LONG"' "$tmp/junk.out" || { echo "junk: no TOO_LONG" >&2; exit 1; }
rc=0; "$hawiya" atr 3B00 >/dev/null || rc=$?
[ "$rc" -eq 0 ] || { echo "valid ATR: exit $rc" >&2; exit 1; }
rc=0; "$hawiya" atr >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || { echo "no argument: exit $rc, expected 2" >&2; exit 1; }
echo "junk input handled"
