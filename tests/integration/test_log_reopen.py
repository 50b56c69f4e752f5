"""Logs to files: the error log and the access log go to the configured files (one
line per TCP session in the access log); after the files are moved away (log
rotation), SIGUSR1 makes raftlb reopen them under their configured names."""
import os
import signal
import time

from harness import check, exchange, free_port, main, pattern, tcp_conf


def wait_for(path, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                if text in f.read():
                    return True
        time.sleep(0.05)
    return False


def test(h):
    _, echo = h.backend("echo")
    fport = free_port()
    err_log = os.path.join(h.dir, "error.log")
    acc_log = os.path.join(h.dir, "access.log")
    conf = tcp_conf([("fe", [fport], "echo", [])], [("echo", [("e1", echo)], [])])
    conf = conf.replace("access_log = stderr",
                        "access_log = %s\nerror_log = %s" % (acc_log, err_log))
    r = h.raftlb(conf, [fport])
    exchange(fport, pattern(12345, seed=1))
    check(wait_for(acc_log, "bytes_in=12345 bytes_out=12345"),
          "the access log file has one line for the session, with its byte counts")
    check(wait_for(err_log, "running"), "the error log file has the start-up line")

    os.rename(acc_log, acc_log + ".1")
    os.rename(err_log, err_log + ".1")
    r.signal(signal.SIGUSR1)
    check(wait_for(err_log, "log files reopened"), "after SIGUSR1 the error log is reopened")
    exchange(fport, pattern(54321, seed=2))
    check(wait_for(acc_log, "bytes_in=54321"), "the next session is logged in the new file")
    with open(acc_log + ".1") as f:
        old = f.read()
    check("bytes_in=54321" not in old, "and not in the rotated one")
    with open(acc_log) as f:
        lines = [l for l in f.read().splitlines() if "bytes_in=54321" in l]
    check(len(lines) == 1 and lines[0].split("access: ", 1)[1].startswith("tcp client=127.0.0.1:"),
          "one well-formed access line: %s" % (lines[0] if lines else None))
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


main(test)
