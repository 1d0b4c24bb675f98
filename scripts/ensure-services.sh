#!/bin/sh
# Start PostgreSQL and Redis when they are installed but stopped (apt-get starts no daemons).
# Under CI=true a service that cannot be reached afterwards is an error; elsewhere the test suite
# skips the PostgreSQL + Redis leg with a reason.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do pg_up && break; sleep 1; done
fi
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    for _ in 1 2 3 4 5; do redis_up && break; sleep 1; done
fi

if [ "${CI:-}" = "true" ]; then
    pg_up || { echo "CI: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
    redis_up || { echo "CI: Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
fi
exit 0
