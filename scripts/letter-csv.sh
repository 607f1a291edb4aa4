#!/usr/bin/env bash
# Writes the UCI Letter Recognition data (20,000 rows, label column "lettr" then 16 integer
# features) as CSV, from Debian's r-cran-mlbench package. hwprune's `--data letter` reads it.
#
# Usage: scripts/letter-csv.sh [output.csv]
#   default output: $HWPRUNE_DATA_DIR/letter.csv, else ~/.cache/hwprune/letter.csv
# The file is written to a temporary name beside the target and renamed into place.
set -euo pipefail

RDA=/usr/lib/R/site-library/mlbench/data/LetterRecognition.rda

if [[ $# -gt 1 || ${1:-} == -h || ${1:-} == --help ]]; then
  echo "usage: $0 [output.csv]" >&2
  exit 2
fi

if [[ -n ${1:-} ]]; then
  out=$1
elif [[ -n ${HWPRUNE_DATA_DIR:-} ]]; then
  out=$HWPRUNE_DATA_DIR/letter.csv
else
  out=${HOME:?HOME is not set}/.cache/hwprune/letter.csv
fi

if ! command -v Rscript >/dev/null 2>&1; then
  echo "$0: Rscript not found; install it with: apt-get install r-base-core r-cran-mlbench" >&2
  exit 1
fi
if [[ ! -r $RDA ]]; then
  echo "$0: $RDA not found; install it with: apt-get install r-cran-mlbench" >&2
  exit 1
fi

mkdir -p -- "$(dirname -- "$out")"
tmp=$(mktemp -- "$out.tmp.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT

HWPRUNE_RDA=$RDA HWPRUNE_OUT=$tmp Rscript --vanilla -e '
  load(Sys.getenv("HWPRUNE_RDA"))
  write.csv(LetterRecognition, file = Sys.getenv("HWPRUNE_OUT"), row.names = FALSE)
' >/dev/null

rows=$(($(wc -l <"$tmp") - 1))
if [[ $rows -ne 20000 ]]; then
  echo "$0: expected 20000 data rows, got $rows" >&2
  exit 1
fi
chmod 644 -- "$tmp"
mv -f -- "$tmp" "$out"
trap - EXIT
echo "wrote $out ($rows rows)"
