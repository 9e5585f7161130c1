#!/bin/sh
# Entrypoint of lab/docker-socket-proxy: the settings upstream's entrypoint computes, then haproxy.
# The access flags (CONTAINERS, SERVICES, ..., POST) need nothing here: haproxy reads them with env()
# at request time; LOG_LEVEL, SOCKET_PATH and BIND_CONFIG are expanded by haproxy when it loads the file.
set -eu

# Upstream raises the open-files limit for haproxy; a container that may not is fine too.
ulimit -n 10000 2>/dev/null || true

# As upstream: BIND_CONFIG wins; else IPv4-only with DISABLE_IPV6=1/true/yes, else dual-stack.
if [ -z "${BIND_CONFIG:-}" ]; then
    case "$(printf '%s' "${DISABLE_IPV6:-0}" | tr '[:upper:]' '[:lower:]')" in
    1 | true | yes) BIND_CONFIG=":2375" ;;
    *) BIND_CONFIG="[::]:2375 v4v6" ;;
    esac
fi
export BIND_CONFIG LOG_LEVEL="${LOG_LEVEL:-info}" SOCKET_PATH="${SOCKET_PATH:-/var/run/docker.sock}"

# Options only ("-d", "-f file"): they are haproxy's.
if [ "$#" -gt 0 ] && [ "${1#-}" != "$1" ]; then
    set -- haproxy "$@"
fi
if [ "$#" -eq 0 ] || [ "$1" = haproxy ]; then
    [ "$#" -gt 0 ] && shift
    # -W master-worker (reloads with SIGUSR2), -db stay in the foreground and log to stdout.
    set -- haproxy -W -db -f /usr/local/etc/haproxy/haproxy.cfg "$@"
fi
exec "$@"
