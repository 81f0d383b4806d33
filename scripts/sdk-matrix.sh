#!/usr/bin/env bash
# SDK range: run the SDK-facing suites and the packaging test against the lowest @anthropic-ai/sdk
# the peer range allows and the newest published version inside it, then reinstall the lockfile's
# version so later steps see the locked tree. Prints a summary; exits non-zero if anything failed.
#   bash scripts/sdk-matrix.sh        (npm run test:sdk-range)
#   bash scripts/sdk-matrix.sh --skip-locked-suites   (CI: `npm test` already ran the suites on the locked version)
set -uo pipefail
cd "$(dirname "$0")/.."

quiet=(--no-audit --no-fund --loglevel=error --prefer-offline)
suites=(test/sdk-fidelity test/retry.test.ts test/streams.test.ts test/sdk-paths.test.ts test/breaker.test.ts test/batch)
installed() { node -p "require('./node_modules/@anthropic-ai/sdk/package.json').version" 2>/dev/null || echo none; }
lockfile_sum() { cksum package.json package-lock.json; }
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

range="$(node -p "require('./package.json').peerDependencies['@anthropic-ai/sdk']")"
locked="$(node -p "require('./package-lock.json').packages['node_modules/@anthropic-ai/sdk'].version")"
lowest="$(node -p "process.argv[1].match(/>=\s*(\d+\.\d+\.\d+)/)[1]" "$range")"
# `npm view` prints one string for one match and an array for several; take the highest.
newest="$(npm view "@anthropic-ai/sdk@$range" version --json 2>/dev/null | node -e '
  const raw = require("fs").readFileSync(0, "utf8").trim();
  const list = [].concat(raw ? JSON.parse(raw) : []).filter((v) => typeof v === "string");
  const key = (v) => v.split(".").map(Number);
  list.sort((a, b) => { const [x, y] = [key(a), key(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  if (list.length) console.log(list.at(-1));')" || newest=""
if [[ -z "$newest" ]]; then
  echo "FAIL the registry did not answer 'npm view @anthropic-ai/sdk@\"$range\" version'; cannot find the newest SDK" >&2
  exit 1
fi
versions=("$lowest")
[[ "$newest" != "$lowest" ]] && versions+=("$newest")
echo "peer range $range: testing ${versions[*]} (lockfile: $locked)"

present=()
for suite in "${suites[@]}"; do
  if [[ -e "$suite" ]]; then present+=("$suite"); else echo "note: $suite does not exist, skipped"; fi
done

before="$(lockfile_sum)"
restore() {
  step "restoring @anthropic-ai/sdk@$locked (the lockfile's)"
  npm install --no-save "${quiet[@]}" "@anthropic-ai/sdk@$locked" >/dev/null
  [[ "$(installed)" == "$locked" ]] || { echo "FAIL node_modules has @anthropic-ai/sdk $(installed), the lockfile $locked" >&2; exit 1; }
  [[ "$(lockfile_sum)" == "$before" ]] || { echo "FAIL package.json or package-lock.json changed during the run" >&2; exit 1; }
  echo "restored @anthropic-ai/sdk $(installed) (${SECONDS}s in all)"
}
trap restore EXIT

declare -A suites_result packaging_result
for v in "${versions[@]}"; do
  step "@anthropic-ai/sdk@$v: install"
  if ! npm install --no-save "${quiet[@]}" "@anthropic-ai/sdk@$v" >/dev/null || [[ "$(installed)" != "$v" ]]; then
    echo "FAIL wanted @anthropic-ai/sdk $v, node_modules has $(installed)"
    suites_result[$v]=fail packaging_result[$v]=skipped
    continue
  fi
  echo "installed @anthropic-ai/sdk $(installed)"

  step "@anthropic-ai/sdk@$v: SDK-facing suites"
  if [[ "${1:-}" == "--skip-locked-suites" && "$v" == "$locked" ]]; then
    echo "skipped: npm test ran them on the locked version $locked"
    suites_result[$v]=ok
  elif CI=true npx vitest run --reporter=dot "${present[@]}"; then suites_result[$v]=ok; else suites_result[$v]=FAIL; fi

  step "@anthropic-ai/sdk@$v: packaging"
  if bash scripts/check-packaging.sh "$v"; then packaging_result[$v]=ok; else packaging_result[$v]=FAIL; fi
done

step "summary"
printf '%-10s %-8s %-10s\n' 'SDK' 'suites' 'packaging'
status=0
for v in "${versions[@]}"; do
  printf '%-10s %-8s %-10s\n' "$v" "${suites_result[$v]}" "${packaging_result[$v]}"
  [[ "${suites_result[$v]}${packaging_result[$v]}" == okok ]] || status=1
done
exit "$status"
