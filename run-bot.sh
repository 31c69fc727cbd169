#!/usr/bin/env bash
# Installs everything the bot needs, then starts it with settings from the environment / .env.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh runtime
exec .venv/bin/musicrec-bot "$@"
