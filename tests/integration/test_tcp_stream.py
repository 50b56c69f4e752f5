"""TCP mode: 100 MB through raftlb to an echo backend and back, with SHA-256
compared both ways, on two parallel connections."""
import threading

from harness import check, exchange, free_port, main, pattern, tcp_conf

SIZE = 100 * 1000 * 1000


def test(h):
    _, port = h.backend("echo")
    fport = free_port()
    r = h.raftlb(tcp_conf([("fe", [fport], "echo", [])], [("echo", [("e1", port)], [])]),
                 [fport])
    payload = pattern(SIZE, seed=1)
    sent, got, n = exchange(fport, payload, timeout=120)
    check(n == SIZE, "echo returned all %d bytes (got %d)" % (SIZE, n))
    check(sent == got, "SHA-256 of 100 MB sent == SHA-256 of 100 MB echoed back")

    # two streams at once, different data: no mixing between sessions
    results = {}

    def one(i):
        results[i] = exchange(fport, pattern(10 * 1000 * 1000, seed=10 + i), timeout=60)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    for i in range(2):
        check(i in results and results[i][0] == results[i][1],
              "parallel stream %d: checksum matches" % i)
    check(results[0][0] != results[1][0], "the parallel streams carried different data")
    log = r.log()
    check("bytes_in=%d bytes_out=%d" % (SIZE, SIZE) in log,
          "access log counts 100 MB each way")
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


main(test)
