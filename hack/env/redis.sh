# Sourced by hack/test.sh: starts a throwaway Redis (Debian redis-server) on a free loopback port, no persistence,
# and exports AIBID_TEST_REDIS_URL. Needs from the caller: free_port, on_exit.
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "${AIBID_TEST_TMP:-/tmp}/redis-$REDIS_PORT.pid" --logfile "${AIBID_TEST_TMP:-/tmp}/redis-$REDIS_PORT.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "redis did not start on $REDIS_PORT" >&2; return 1; }
on_exit "redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1"
export AIBID_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
echo "Redis on 127.0.0.1:$REDIS_PORT" >&2
