#!/bin/sh
# One database per service (each service migrates its own schema at start).
set -eu
for database in $(echo "$POSTGRES_MULTIPLE_DATABASES" | tr ',' ' '); do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -c "CREATE DATABASE \"$database\""
done
