#!/usr/bin/env bash
# Packaging test: install the packed tarball into a scratch app next to @anthropic-ai/sdk@<version>
# from the registry, then run test/packaging/app.cjs (require) and app.mjs (import) from the app.
#   bash scripts/check-packaging.sh <sdk-version> [--skip-build]
# Builds first when dist/ is missing or older than src/ (or the build config); --skip-build never does.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:?usage: scripts/check-packaging.sh <sdk-version> [--skip-build]}"
quiet=(--no-audit --no-fund --loglevel=error --prefer-offline)
tmp="$(mktemp -d "${TMPDIR:-/tmp}/rc-packaging.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if [[ "${2:-}" != "--skip-build" ]] &&
  { [[ ! -f dist/index.js ]] || [[ -n "$(find src package.json tsup.config.mts -newer dist/index.js -print -quit)" ]]; }; then
  echo "building (dist/ is missing or stale)"
  npm run build --silent >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "FAIL build"; exit 1; }
fi

# dist/ is fresh (above): skip the prepack build.
tarball="$tmp/$(npm pack --ignore-scripts --pack-destination "$tmp" --loglevel=error | tail -n 1)"

mkdir "$tmp/app"
cp test/packaging/checks.mjs test/packaging/app.cjs test/packaging/app.mjs "$tmp/app/"
cd "$tmp/app"
npm init -y >/dev/null
npm install "${quiet[@]}" "$tarball" "@anthropic-ai/sdk@$version" >/dev/null

status=0
node app.cjs "$version" || status=1
node app.mjs "$version" || status=1
exit "$status"
