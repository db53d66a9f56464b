#!/usr/bin/env bash
# Run Slither on Spoke's contracts, reproducibly: its own venv (pinned version), the npm solc via
# contracts/tools/solc-shim, and a standard-JSON input written by contracts/build.js.
#   bash contracts/tools/slither.sh            human-readable report on stderr
#   bash contracts/tools/slither.sh --json F   also write the JSON report to F
# Exits non-zero when Slither reports a finding of High or Medium impact.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SLITHER_VERSION="0.11.6"
VENV="$REPO_ROOT/.venv-slither"

cd "$REPO_ROOT"
if [[ ! -x "$VENV/bin/slither" ]] || ! "$VENV/bin/slither" --version | grep -qx "$SLITHER_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "slither-analyzer==$SLITHER_VERSION"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
INPUT="$WORK/slither-input.json"
node contracts/build.js --standard-json-input "$INPUT"

# ChannelManager and Checkout are in scope; contracts/test/ holds deliberately hostile test contracts.
"$VENV/bin/slither" "$INPUT" \
    --solc "$REPO_ROOT/contracts/tools/solc-shim" \
    --compile-force-framework solc-json \
    --filter-paths "node_modules|@openzeppelin|contracts/test/" \
    --fail-medium \
    "$@"
