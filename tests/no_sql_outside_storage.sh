#!/bin/sh
# The store owns its schema (issue 14): no SQL outside storage/. Fails, naming each line, when
# cli/, job/, engine/, daemon/, protocol/, sdk/ or python/jr speaks SQL or reaches for the connection:
# SQLite's API, the store's connection (storage/store_db.h, storage/sqlite.h, sql::), or an SQL
# keyword inside a string. python/jr/_store.py is the one exception: the Python package's
# documented read interface (docs/DESIGN.md, "Reading a store from Python").
# Usage: no_sql_outside_storage.sh SOURCE_DIR
set -u
cd "${1:?usage: $0 SOURCE_DIR}" || exit 2
for dir in cli job engine daemon protocol sdk python/jr storage; do
  [ -d "$dir" ] || { echo "no $dir in $(pwd): give the source directory" >&2; exit 2; }
done

keywords='SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|COMMIT|ROLLBACK|VACUUM|ATTACH'
found=$(
  {
    grep -rnE --include='*.cpp' --include='*.h' --include='*.hpp' \
      -e 'sqlite3' -e 'store_db' -e 'storage/sqlite\.h' -e '\bsql::' \
      -e "\"[^\"]*\\b($keywords)\\b" \
      cli job engine daemon protocol sdk
    grep -rnE --include='*.py' \
      -e 'sqlite3' -e '\.execute(many|script)?\(' \
      -e "[\"'][^\"']*\\b($keywords)\\b" \
      python/jr | grep -v '^python/jr/_store\.py:'
  }
)
if [ -n "$found" ]; then
  echo "SQL outside storage/ (move it into a function of the store, storage/*_reads.h):"
  echo "$found"
  exit 1
fi
echo "no SQL outside storage/"
