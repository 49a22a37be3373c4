#!/usr/bin/env bash
# Sourced by `make run` / `make migrate` / `make rotate-keys`: a local database and persistent development secrets in
# .data/dev.env (generated once, never committed). With ConnectionStrings__Auth set (a database of your own), nothing of
# .data/dev.env is used: its encryption key and admin key are this checkout's, and must never reach another database
# (rotate-keys would re-seal everything under the dev key; the dev admin key would become an admin key there). Set
# Encryption__* (and Auth__BootstrapAdminKey if you want one) yourself. Against the local database, a value you exported
# wins over dev.env's: `Encryption__Keys__k2=… Encryption__ActiveKeyId=k2 make rotate-keys` rotates to k2.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$root/.data"
own_database=${ConnectionStrings__Auth:+1}
if [ -z "$own_database" ]; then
  server=$("$root/scripts/pg.sh" start dev "${DEV_PG_PORT:-25433}") || exit 1
  port=$(echo "$server" | sed -n 's/.*Port=\([0-9]*\).*/\1/p')
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "select 1 from pg_database where datname='authservice'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -qc "create database authservice" || exit 1
  fi
  export ConnectionStrings__Auth="Host=127.0.0.1;Port=$port;Username=postgres;Database=authservice"
fi
if [ -z "$own_database" ]; then
  if [ ! -f "$root/.data/dev.env" ]; then
    umask 077
    {
      echo "Encryption__ActiveKeyId=dev"
      echo "Encryption__Keys__dev=$(head -c 32 /dev/urandom | base64)"
      echo "Auth__BootstrapAdminKey=ask_dev_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    } > "$root/.data/dev.env"
  fi
  # Each line only where the caller set no value, its value exactly as written (a base64 key keeps its trailing '=').
  source "$root/scripts/env-file.sh"
  load_env_file "$root/.data/dev.env"
fi
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
# Passkeys for the sample portal (`make portal`, opened as http://localhost:3000): a WebAuthn RP ID is a domain name.
if [ -z "${Passkeys__RelyingPartyId:-}" ]; then
  export Passkeys__RelyingPartyId=localhost
  export Passkeys__Origins__0="http://localhost:${PORTAL_PORT:-3000}"
fi
