#!/usr/bin/env bash
# Every C file is formatted as .clang-format says (docs/HACKING.md): a change
# that is not is reported here with the file and the first lines that differ.
. "$(dirname "$0")/lib.sh"
: "${PK_SRC:?}"
command -v clang-format >/dev/null 2>&1 || skip "clang-format is not installed"
cd "$PK_SRC" || die "cd $PK_SRC"
n=0
for f in src/*/*.[ch] include/*.h tests/unit/*.[ch] tests/helpers/*.c fuzz/*.c examples/*.c bench/*.c bench/inproc/*.[ch]; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    if ! clang-format "$f" | cmp -s - "$f"; then
        fail "$f is formatted" "$(clang-format "$f" | diff "$f" - | head -n 8)"
    fi
done
[ "$failed" -eq 0 ] && ok "all $n C files are formatted as .clang-format says"
finish
