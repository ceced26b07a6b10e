#!/bin/sh
# Every option a `hawiya` command accepts (each "--name" string literal in
# host/cli/cmd_NAME.c) is on that command's line of `hawiya --help` and in its
# section of docs/cli.md; and every command has both.
# usage: cli_help.sh HAWIYA SOURCE_DIR
set -u
hawiya=$1 src=$2
fails=0
help=$("$hawiya" --help) || { echo "FAIL: hawiya --help exits non-zero"; exit 1; }
for f in "$src"/host/cli/cmd_*.c; do
    cmd=${f##*/cmd_}
    cmd=${cmd%.c}
    line=$(printf '%s\n' "$help" | grep "^  hawiya $cmd\( \|$\)")
    [ -n "$line" ] || { echo "FAIL: no '$cmd' in hawiya --help"; fails=$((fails + 1)); }
    # The section whose heading names the command, up to the next heading.
    section=$(awk -v c="\`hawiya $cmd\`" 'index($0, "## ") == 1 { on = index($0, c) > 0; next } on' \
        "$src/docs/cli.md")
    [ -n "$section" ] || { echo "FAIL: no section for '$cmd' in docs/cli.md"; fails=$((fails + 1)); }
    for opt in $(grep -o '"--[a-z][a-z-]*"' "$f" | tr -d '"' | sort -u); do
        [ "$opt" = --help ] && continue
        case " $line " in *"$opt "* | *"$opt]"* | *"$opt)"*) ;;
        *) echo "FAIL: hawiya $cmd $opt is not in hawiya --help"; fails=$((fails + 1)) ;; esac
        case $section in *"\`$opt"*) ;;
        *) echo "FAIL: hawiya $cmd $opt is not in docs/cli.md"; fails=$((fails + 1)) ;; esac
    done
done
[ "$fails" -eq 0 ] && echo "cli_help: every option of every command is in --help and docs/cli.md"
exit "$fails"
