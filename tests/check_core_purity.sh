#!/bin/sh
# The pure cores (libraftlb_core.a) must not reach libev, OpenSSL or sockets
# (STYLE.md: "pure cores, I/O at the edges"). This test fails when any object in the
# core library refers to such a symbol, or when a core source includes such a header.
set -u
lib="${RAFTLB_BUILDDIR:?}/libraftlb_core.a"
src="${RAFTLB_SRCDIR:?}/src"
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }

status=0
bad_syms=$(nm -u "$lib" 2>/dev/null | awk '{print $NF}' |
    grep -E '^(ev_|SSL_|TLS_|BIO_|EVP_|ERR_|OPENSSL_|socket$|connect$|accept4?$|bind$|listen$|send(to|msg)?$|recv(from|msg)?$|getaddrinfo$|epoll_|ini_parse)' |
    sort -u)
if [ -n "$bad_syms" ]; then
    echo "FAIL: libraftlb_core.a refers to I/O symbols:"; echo "$bad_syms" | sed 's/^/  /'
    status=1
fi

# Every source listed in the core library, by the objects it contains.
objs=$(ar t "$lib")
for o in $objs; do
    base=$(echo "$o" | sed -e 's/^libraftlb_core_a-//' -e 's/\.o$//')
    for f in $(find "$src" -name "$base.c" 2>/dev/null); do
        h=$(grep -nE '#include *[<"](ev\.h|openssl/|sys/socket\.h|netinet/|arpa/inet\.h|netdb\.h|ini\.h)' "$f" "${f%.c}.h" 2>/dev/null)
        if [ -n "$h" ]; then
            echo "FAIL: core source includes an I/O header:"; echo "$h" | sed 's/^/  /'
            status=1
        fi
    done
done
n=$(echo "$objs" | grep -c . || true)
[ $status -eq 0 ] && echo "PASS: $n core objects, no libev/OpenSSL/socket symbols or headers"
exit $status
