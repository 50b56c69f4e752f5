#!/bin/sh
# HTTP-mode benchmark: raftlb next to HAProxy 2.6 and NGINX from Debian, one
# worker each pinned to CPU 0, wrk and three origin servers on CPU 1; keep-alive
# at 50 and 1,000 connections, a connection per request, TLS, and 1 MiB
# downloads at 10 connections; CPU per request, requests/s, p50/p99, RSS,
# memory per connection, medians of RUNS runs.
# See contrib/bench/http_bench.py. Usage: contrib/bench/http.sh BUILDDIR [RUNS]
exec python3 "$(dirname "$0")/http_bench.py" "$@"
