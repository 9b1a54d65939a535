#!/usr/bin/env bash
# Make the project's local PostgreSQL ready: installed, running, role and databases present.
# Idempotent; `make services` (and so `make test`) runs it on every call. It holds the Hive
# metastore behind `make sql` (docs/catalog.md); tests create their own databases with the
# role's CREATEDB right.
#
# Settings (environment): LAKECDP_PG_PORT (5432), LAKECDP_PG_ROLE / LAKECDP_PG_PASSWORD
# (lakecdp / lakecdp), LAKECDP_PG_DATABASES (more databases besides lakecdp_metastore, space
# separated).
set -euo pipefail

PORT="${LAKECDP_PG_PORT:-5432}"
ROLE="${LAKECDP_PG_ROLE:-lakecdp}"
PASSWORD="${LAKECDP_PG_PASSWORD:-lakecdp}"
# lakecdp_activation: the demo's and the tests' PostgreSQL sync destination; lakecdp_airflow:
# the Airflow metadata database (`make airflow`).
DATABASES="lakecdp_metastore lakecdp_activation lakecdp_airflow ${LAKECDP_PG_DATABASES:-}"

log() { echo "postgres: $*" >&2; }

# Root runs as the postgres user with runuser (initdb and the server refuse root);
# anyone else needs password-less sudo.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}

if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  log "installing PostgreSQL (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# The cluster on our port, or the newest installed version's "main" cluster.
cluster="$(pg_lsclusters --no-header | awk -v p="$PORT" '$3 == p {print $1, $2; exit}')"
if [ -z "$cluster" ]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  log "creating cluster $version/main on port $PORT"
  as_root pg_createcluster --port "$PORT" "$version" main >/dev/null
  cluster="$version main"
fi
read -r version name <<<"$cluster"

status="$(pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1 == v && $2 == n {print $4}')"
if [ "$status" != "online" ]; then
  log "starting cluster $version/$name"
  as_root pg_ctlcluster "$version" "$name" start
fi

for _ in $(seq 1 60); do
  pg_isready -q -h localhost -p "$PORT" && break
  sleep 0.5
done
pg_isready -q -h localhost -p "$PORT" || { log "not accepting connections on port $PORT"; exit 1; }

psql_admin() { as_postgres psql -p "$PORT" -X -q -v ON_ERROR_STOP=1 "$@"; }

# Role and databases; a password change in the environment is applied on the next run.
psql_admin -d postgres -v role="$ROLE" -v password="$PASSWORD" <<'SQL'
select format('create role %I login createdb', :'role')
 where not exists (select from pg_roles where rolname = :'role') \gexec
select format('alter role %I login createdb password %L', :'role', :'password') \gexec
SQL
for db in $DATABASES; do
  psql_admin -d postgres -v role="$ROLE" -v db="$db" <<'SQL'
select format('create database %I owner %I', :'db', :'role')
 where not exists (select from pg_database where datname = :'db') \gexec
SQL
done

# Ready means our role can log in over TCP with its password, as the metastore client will.
PGPASSWORD="$PASSWORD" psql -h localhost -p "$PORT" -U "$ROLE" -d "${DATABASES%% *}" -X -q \
  -c "select 1" >/dev/null
log "ready on localhost:$PORT (role $ROLE, databases: ${DATABASES% })"
