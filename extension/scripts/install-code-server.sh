#!/usr/bin/env bash
# Installs code-server (real VS Code 1.100 served to a browser) into a cache outside the clone,
# keyed by version, for the extension's end-to-end test. Idempotent: a finished install is marked
# by .complete and reused. Prints the path of the code-server executable on stdout (last line).
#
# Workarounds (see ../shared/ENVIRONMENT.md): the kerberos module needs libkrb5-dev; the
# @vscode/ripgrep postinstall wants to download a binary from GitHub, which this network does not
# reach, so its cache is pre-seeded with Debian's `rg` packed under the name it looks for.
set -euo pipefail

VERSION="${PIDSCOPE_CODE_SERVER_VERSION:-4.100.3}"
# .ci/run exports PIDSCOPE_CACHE_DIR (shared by every expensive artefact); else the XDG cache.
CACHE="${PIDSCOPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pidscope}/code-server"
DIR="$CACHE/$VERSION"
BIN="$DIR/node_modules/code-server/out/node/entry.js"
LAUNCHER="$DIR/node_modules/.bin/code-server"

if [ -f "$DIR/.complete" ] && [ -x "$LAUNCHER" ]; then
  echo "$LAUNCHER"
  exit 0
fi

need() {
  echo "install-code-server: $1" >&2
  exit 3
}
command -v node >/dev/null || need "node is missing (Node.js 20 is required)."
command -v npm >/dev/null || need "npm is missing."
RG="$(command -v rg || true)"
[ -n "$RG" ] || need "ripgrep is missing. Fix: apt-get install -y ripgrep"
if ! [ -e /usr/include/krb5.h ] && ! [ -e /usr/include/gssapi/gssapi.h ]; then
  need "the Kerberos headers are missing (code-server's kerberos module builds against them). Fix: apt-get install -y libkrb5-dev"
fi

mkdir -p "$CACHE"
# One installer at a time per version (parallel CI jobs on one machine share the cache).
exec 9>"$CACHE/.lock-$VERSION"
flock 9
if [ -f "$DIR/.complete" ] && [ -x "$LAUNCHER" ]; then
  echo "$LAUNCHER"
  exit 0
fi

rm -rf "$DIR"
mkdir -p "$DIR"
TMP="$(mktemp -d "$CACHE/tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# @vscode/ripgrep 1.15.x looks for this exact archive name in $TMPDIR before downloading.
for RGV in 1.15.9 1.15.10 1.15.11 1.15.12 1.15.13 1.15.14; do
  mkdir -p "$TMP/vscode-ripgrep-cache-$RGV"
  for TRIPLE in v13.0.0-10-x86_64-unknown-linux-musl v13.0.0-13-x86_64-unknown-linux-musl v14.1.1-x86_64-unknown-linux-musl; do
    tar -C "$(dirname "$RG")" -czf "$TMP/vscode-ripgrep-cache-$RGV/ripgrep-$TRIPLE.tar.gz" rg
  done
done

cat > "$DIR/package.json" <<JSON
{ "name": "pidscope-code-server-cache", "private": true, "version": "0.0.0" }
JSON

echo "install-code-server: installing code-server@$VERSION into $DIR (a few minutes)..." >&2
(
  cd "$DIR"
  TMPDIR="$TMP" npm_config_yes=true npm install "code-server@$VERSION" \
    --unsafe-perm --foreground-scripts --no-audit --no-fund --loglevel=error 1>&2
)
[ -f "$BIN" ] || need "code-server installed without $BIN; see the npm output above."
# A quick smoke test: the version must print.
XDG_CONFIG_HOME="$TMP" XDG_DATA_HOME="$TMP" "$LAUNCHER" --version 1>&2 || need "code-server@$VERSION does not start; see the output above."
touch "$DIR/.complete"
echo "$LAUNCHER"
