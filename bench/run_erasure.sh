#!/bin/sh
# R14 benchmarks (issue 15), on PostgreSQL: erasing a person with 1,000 notes and 500 meetings,
# and a retention run over 50,000 ended pairs while a member keeps reading. Each test makes its
# own database (mentorat_test_…) on the server given, seeds it (rows cloned in SQL from rows
# written through the API) and prints a `BENCH` line.
#   bench/run_erasure.sh postgres://postgres@127.0.0.1:5432/postgres
# Add --release to cargo's arguments below for release figures (the ones in BENCHMARKS.md are
# of the debug test build, the suite's).
set -eu
url=${1:-postgres://postgres@127.0.0.1:5432/postgres}
MENTORAT_TEST_DATABASE_URL=$url cargo nextest run -p mentorat-tests --run-ignored only \
  --no-capture -E 'test(/erasure_bench::/)' 2>&1 | grep BENCH
