#!/usr/bin/env bash
# Install the Debian packages whose servers the integration tests start on 127.0.0.1.
# Idempotent: does nothing when everything is present.
set -euo pipefail

missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
{ command -v nats-server || [ -x /usr/sbin/nats-server ]; } >/dev/null 2>&1 || missing+=(nats-server)
{ command -v prometheus-alertmanager || command -v alertmanager; } >/dev/null 2>&1 || missing+=(prometheus-alertmanager)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "roost tests need these Debian packages: ${missing[*]}" >&2
  echo "hint: run 'sudo apt-get install -y ${missing[*]}' or run make test as root" >&2
  exit 1
fi
echo "==> installing test servers: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package creates and starts a default cluster; the tests run their own throwaway
# servers on ephemeral ports, so the packaged one is not needed.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
fi
# Likewise docker-registry's packaged service (port 5000): tests start their own registries.
if command -v systemctl >/dev/null 2>&1; then
  systemctl stop docker-registry >/dev/null 2>&1 || true
fi
