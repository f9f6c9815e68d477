#!/bin/sh
# Dump vmeeting's database (DATABASE_URL) with pg_dump -Fc into DIR, then remove the dumps older
# than BACKUP_KEEP_DAYS days (14 unless set). Prints the dump's path. Run by vmeeting-backup.service.
# Usage: backup.sh DIR
set -eu
dir=${1:?usage: backup.sh DIR}
keep=${BACKUP_KEEP_DAYS:-14}
: "${DATABASE_URL:?DATABASE_URL is not set}"
# libpq reads postgresql:// URLs; SQLAlchemy's driver suffix (+psycopg) is not one of them
url=$(printf '%s' "$DATABASE_URL" | sed 's|^postgresql+[a-z0-9]*://|postgresql://|')
mkdir -p "$dir"
file="$dir/vmeeting-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --no-owner --file="$file.part" --dbname="$url"
mv "$file.part" "$file"
find "$dir" -maxdepth 1 -name 'vmeeting-*.dump' -type f -mtime "+$keep" -delete
echo "$file"
