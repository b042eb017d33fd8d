#!/bin/sh
# Runs once, when the Postgres container initialises an empty data directory (docker-compose.yml
# mounts it into /docker-entrypoint-initdb.d). Creates the confined login ony serves on: it can log
# in and nothing else; `ony migrate --grant-runtime ony_runtime` (the compose migrate service) then
# gives it the app role ony_app. POSTGRES_USER stays the owner/migrating credential.
# An existing data directory skips this script: create the login by hand (docs/deploy.md).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v runtime_password="${ONY_RUNTIME_DB_PASSWORD:?set ONY_RUNTIME_DB_PASSWORD}" <<'SQL'
CREATE ROLE ony_runtime LOGIN PASSWORD :'runtime_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
SQL
