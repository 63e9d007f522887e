#!/bin/bash
# Regenerate kernel/patches/ from a git tree that holds the series as
# commits on top of the pristine linux-source-6.12 commit.
#
#   kernel/regen.sh TREE N      # N = number of patches in the series
#
# Commits carry fixed author and committer dates (commit with
# GIT_AUTHOR_DATE/GIT_COMMITTER_DATE, rebase with
# --committer-date-is-author-date), so unchanged commits give byte-identical
# patches and build.sh's cache key only moves when the series does. The
# cover letter's subject and body are kept from patches/0000-*.patch (edit
# them there); git writes its shortlog and diffstat. From: and
# Signed-off-by: are placeholders (see README).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$1
n=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
GIT_COMMITTER_NAME="pidscope kernel" GIT_COMMITTER_EMAIL=kernel@pidscope.invalid \
	GIT_COMMITTER_DATE="2026-11-28 12:00:00 +0000" \
	git -C "$tree" format-patch -q --cover-letter -"$n" -o "$out"
old=$(ls "$here"/patches/0000-*.patch)
new=$(ls "$out"/0000-*.patch)
subject=$(sed -n 's/^Subject: \[PATCH 0\/[0-9]*\] //p' "$old")
# body: from the blank line after the header up to git's shortlog
body=$(awk 'h && /^pidscope kernel \([0-9]+\):$/ { exit } h { print } /^$/ && !h { h = 1 }' "$old")
python3 - "$new" "$subject" "$body" <<'PY'
import sys
p, subject, body = sys.argv[1:]
s = open(p).read()
s = s.replace('*** SUBJECT HERE ***', subject)
s = s.replace('*** BLURB HERE ***\n', body.rstrip('\n') + '\n')
open(p, 'w').write(s)
PY
rm -f "$here"/patches/0*.patch
cp "$out"/*.patch "$here"/patches/
ls "$here"/patches
