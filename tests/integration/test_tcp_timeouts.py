"""TCP mode idle timeouts: timeout_client closes a silent client (end=client_timeout)
but not one that keeps talking; timeout_server closes a connection whose server
stays silent (end=server_timeout)."""
import time

from harness import check, connect, free_port, main, tcp_conf


def wait_closed(s, limit):
    """Seconds until the peer closes `s` (reading whatever comes), or None."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return time.monotonic() - t0
    except TimeoutError:
        return None
    except OSError:
        return time.monotonic() - t0


def test(h):
    _, echo = h.backend("echo")
    _, stall = h.backend("stall")
    f_cli, f_srv = free_port(), free_port()
    conf = tcp_conf(
        [("cli", [f_cli], "echo", ["timeout_client = 1s"]),
         ("srv", [f_srv], "stall", ["timeout_client = 30s"])],
        [("echo", [("e1", echo)], ["timeout_server = 30s"]),
         ("stall", [("s1", stall)], ["timeout_server = 1s"])])
    r = h.raftlb(conf, [f_cli, f_srv])

    s = connect(f_cli)
    took = wait_closed(s, 5)
    check(took is not None and 0.8 < took < 3,
          "silent client closed by timeout_client = 1s (after %s s)" % took)
    s.close()

    s = connect(f_cli)
    s.settimeout(5)
    t0 = time.monotonic()
    alive = True
    while time.monotonic() - t0 < 2.5:
        try:
            s.sendall(b"ping")
            alive = s.recv(16) == b"ping"
        except OSError:
            alive = False
        if not alive:
            break
        time.sleep(0.3)
    check(alive, "a client talking every 0.3 s outlives timeout_client = 1s (2.5 s)")
    took = wait_closed(s, 5)
    check(took is not None and 0.5 < took < 3,
          "once it stops talking it is closed after about 1 s (%s s)" % took)
    s.close()

    s = connect(f_srv)
    s.sendall(b"hello?")
    took = wait_closed(s, 5)
    check(took is not None and 0.8 < took < 3,
          "silent server: closed by timeout_server = 1s (after %s s)" % took)
    s.close()
    time.sleep(0.2)
    log = r.log()
    check(log.count("end=client_timeout") == 2, "access log: 2 x end=client_timeout")
    check(any("frontend=srv" in l and "bytes_in=6 " in l and l.endswith("end=server_timeout")
              for l in log.splitlines()),
          "access log: the silent-server session ended as server_timeout")
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


main(test)
