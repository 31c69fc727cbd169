#!/usr/bin/env bash
# Installs everything the tests need, then runs the whole test suite. Extra arguments go to pytest.
# The suite runs on MUSICREC_TEST_WORKERS pytest-xdist workers (default 2; 0 runs it in this
# process). Each worker takes whole modules, so a module's bot or server starts once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh test
set +e
.venv/bin/python -m pytest -n "${MUSICREC_TEST_WORKERS:-2}" --dist loadscope "$@"
status=$?
set -e
# pytest exits 5 when it collected no tests: that is a broken run, never a green one.
if [ "$status" -eq 5 ]; then
    echo "run-tests: pytest collected no tests; treating that as a failure" >&2
    exit 1
fi
exit "$status"
