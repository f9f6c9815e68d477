#!/bin/sh
# Restore a dump of backup.sh into the database at URL (empty, or its objects are replaced), then
# bring its schema to the code's migrations. Stop vmeeting-web and vmeeting-worker first.
# Usage: restore.sh DUMP URL        e.g. restore.sh /var/backups/vmeeting/vmeeting-….dump "$DATABASE_URL"
set -eu
dump=${1:?usage: restore.sh DUMP URL}
target=${2:?usage: restore.sh DUMP URL}
url=$(printf '%s' "$target" | sed 's|^postgresql+[a-z0-9]*://|postgresql://|')
pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error --dbname="$url" "$dump"
here=$(cd "$(dirname "$0")/.." && pwd)
flask=${VMEETING_FLASK:-/opt/vmeeting/venv/bin/flask}
cd "$here" && DATABASE_URL="$target" "$flask" --app wsgi db upgrade
echo "restored $dump into the database; schema at the code's head"
