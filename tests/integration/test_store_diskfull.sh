#!/usr/bin/env bash
# The history store on a real full disk: a 4 MiB tmpfs filled by the database
# and a 2 MiB ballast file. Appends fail with -ENOSPC and are counted; once the
# ballast is removed they succeed again by themselves, and the file is whole.
# Mounting needs root (or an unprivileged user namespace): elsewhere the test
# is skipped, and the unit test's full database (max_page_count) covers the
# code path. The store under kill -9 is test_store_crash.sh.
. "$(dirname "$0")/lib.sh"
mount_ns "$@"

W="$PK_BUILD/tests/helpers/pk_store_writer"
[ -x "$W" ] || die "pk_store_writer built" "missing $W (build the tests first)"
NSERIES=40

FS="$TMP/fs"
mkdir -p "$FS"
on_exit umount -q "$FS"
if ! mount -t tmpfs -o size=4m pk-store-test "$FS" 2>"$TMP/mount.err"; then
    skip "cannot mount a tmpfs here (namespace: $PK_MOUNT_NS): $(cat "$TMP/mount.err")"
fi
dd if=/dev/zero of="$FS/ballast" bs=1M count=2 status=none
if res=$("$W" diskfull "$FS/full.db" "$FS/ballast" "$NSERIES" 2>&1); then
    ok "full disk: $res"
    last=$(printf '%s' "$res" | sed -n 's/^ok \([0-9]*\):.*/\1/p')
    check "full disk: the file is whole afterwards" "$W" check "$FS/full.db" "$NSERIES" "$last"
else
    fail "full disk" "$res"
fi

finish
