"""TCP mode: a refused connect moves on to the next server (retries), so the
client sees no error; with every server dead the client is closed and the access
log says connect_failed."""
from harness import check, connect, exchange, free_port, main, pattern, tcp_conf


def read_all(port):
    s = connect(port)
    s.settimeout(10)
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    return data


def test(h):
    _, p_alive = h.backend("name", arg="alive")
    dead1, dead2 = free_port(), free_port()  # nobody listens there
    f1, f2 = free_port(), free_port()
    conf = tcp_conf(
        [("mixed", [f1], "mixed", []), ("dead", [f2], "dead", [])],
        [("mixed", [("d1", dead1), ("a1", p_alive), ("d2", dead2)],
          ["retries = 2", "timeout_connect = 1s"]),
         ("dead", [("x1", dead1), ("x2", dead2)], ["retries = 1", "timeout_connect = 1s"])])
    r = h.raftlb(conf, [f1, f2])
    answers = [read_all(f1) for _ in range(12)]
    check(all(a == b"alive\n" for a in answers),
          "12/12 connections answered by the live server despite 2 dead ones")
    log = r.log_until(lambda t: t.count("server=a1") >= 12 and "tries=2" in t)
    check("connection refused" in log.lower(), "refused connects are logged")
    check(log.count("server=a1") >= 12 and "tries=2" in log,
          "access log shows retried sessions reaching a1")
    check(read_all(f2) == b"", "all servers dead: the client is closed without data")
    log = r.log_until(lambda t: "frontend=dead" in t and "end=connect_failed" in t)
    check("frontend=dead" in log and "end=connect_failed" in log and "tries=2" in log,
          "all servers dead: end=connect_failed after 1 + retries attempts")

    # bytes the client sends at once are held while connecting and survive a retry
    _, p_echo = h.backend("echo")
    f3 = free_port()
    conf3 = conf.replace("[frontend dead]", "[frontend echo]\nbind = 127.0.0.1:%d\n"
                         "mode = tcp\npool = echo\n\n[frontend dead]" % f3)
    conf3 += ("\n[pool echo]\nbalance = roundrobin\nretries = 2\n"
              "server = z1 127.0.0.1:%d\nserver = z2 127.0.0.1:%d\n" % (dead1, p_echo))
    r.reload(conf3)
    for i in range(6):
        sent, got, n = exchange(f3, pattern(200000, seed=20 + i))
        check(sent == got and n == 200000,
              "early client bytes echoed intact after a refused first server (%d)" % i)
    check(any("frontend=echo" in l and "tries=2" in l and "end=done" in l
              for l in r.log().splitlines()),
          "some of those sessions were indeed retried (tries=2, end=done)")

    # a backup takes the retry when the only primary refuses (not yet marked down)
    f4 = free_port()
    conf4 = conf3.replace("[frontend dead]", "[frontend bk]\nbind = 127.0.0.1:%d\n"
                          "mode = tcp\npool = bk\n\n[frontend dead]" % f4)
    conf4 += ("\n[pool bk]\nretries = 1\nhealth = none\n"
              "server = y1 127.0.0.1:%d\nserver = y2 127.0.0.1:%d backup\n"
              % (dead1, p_alive))
    r.reload(conf4)
    answers = [read_all(f4) for _ in range(3)]
    check(answers == [b"alive\n"] * 3,
          "the only primary refuses: the retry goes to the backup (%s)" % answers)
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


main(test)
