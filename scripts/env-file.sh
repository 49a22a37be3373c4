#!/usr/bin/env bash
# Sourced by scripts/dev-env.sh (and DevEnvFileTests): load_env_file FILE exports each NAME=VALUE line of FILE whose NAME the
# caller has not set. The value is everything after the first '=', byte for byte: `IFS='=' read name value` dropped a
# trailing '=' (bash strips one trailing delimiter from the last field), so a base64 key ending in '=' lost it and the
# service refused to start ("not valid base64").
load_env_file() {
  local line name value
  while IFS= read -r line || [ -n "$line" ]; do
    [ -n "$line" ] || continue
    name=${line%%=*}
    value=${line#*=}
    if [ "$name" != "$line" ] && [ -n "$name" ] && [ -z "${!name:-}" ]; then
      export "$name=$value"
    fi
  done < "$1"
}
