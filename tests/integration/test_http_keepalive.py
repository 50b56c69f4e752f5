"""HTTP mode: several requests on one client connection, pipelined requests
answered in order, HEAD/204/304 answered without a body (and the connection
still usable after them), X-Forwarded-For/-Proto added, Host preserved,
Expect: 100-continue forwarded, interim responses (two 103 in one segment
with the 200) relayed in order, HTTP/1.0 and Connection: close end the
connection, max_keepalive_requests honoured, one access-log line per request;
an absolute-form target reaches the server as origin-form with the Host of
its authority."""
from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def get(path, host="example.test", extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, host, extra)).encode()


def test(h):
    _, b1 = start_backend(h, "b1")
    front, front2 = free_port(), free_port()
    conf = http_conf([("web", front, "app", []),
                      ("few", front2, "app", ["max_keepalive_requests = 3"])],
                     [("app", [("b1", b1)], [])])
    r = h.raftlb(conf, [front, front2])

    # keep-alive: 20 requests, one connection
    s = connect(front)
    rd = Reader(s)
    bodies = []
    for i in range(20):
        s.sendall(get("/k%d" % i))
        bodies.append(read_response(rd).body)
    check(bodies == [b"b1 /k%d\n" % i for i in range(20)],
          "20 requests answered in turn on one keep-alive connection")

    # pipelining: 10 requests in one write, answered in order
    s.sendall(b"".join(get("/p%d" % i) for i in range(10)))
    bodies = [read_response(rd).body for _ in range(10)]
    check(bodies == [b"b1 /p%d\n" % i for i in range(10)],
          "10 pipelined requests answered in order")

    # pipelined bodies (Content-Length and chunked) between GETs
    s.sendall(b"POST /info/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
              b"POST /info/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" + get("/after"))
    a, b, c = read_response(rd), read_response(rd), read_response(rd)
    check(b"target=/info/a len=5" in a.body and b"target=/info/b len=5" in b.body
          and c.body == b"b1 /after\n",
          "pipelined CL and chunked bodies framed exactly, next request intact")

    # HEAD, 204, 304: no body, and the connection goes on
    s.sendall(b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = read_response(rd, "HEAD")
    check(resp.status == 200 and resp.header("content-length") == "6",
          "HEAD: 200 with the GET's Content-Length and no body")
    for code in (204, 304):
        s.sendall(get("/status/%d" % code))
        resp = read_response(rd)
        check(resp.status == code and resp.body == b"" and
              resp.header("x-code") == str(code), "%d forwarded without a body" % code)
    s.sendall(get("/still"))
    check(read_response(rd).body == b"b1 /still\n",
          "connection still in sync after HEAD/204/304 (no stray body bytes)")

    # forwarding headers
    s.sendall(get("/info", host="front.example:8080",
                  extra="X-Forwarded-For: 203.0.113.9\r\n"))
    body = read_response(rd).body.decode()
    check("xff=203.0.113.9, 127.0.0.1" in body,
          "X-Forwarded-For appended with the client address (%s)" % body.strip())
    check("xfp=http" in body and "host=front.example:8080" in body,
          "X-Forwarded-Proto set and Host preserved")

    # absolute-form target (RFC 9112 §3.2.2): the origin gets origin-form,
    # "/" for an empty path, and the one Host the client sent
    s.sendall(get("http://front.example:8080/info/abs?x=1", host="front.example:8080"))
    body = read_response(rd).body.decode()
    check("target=/info/abs?x=1 " in body and "host=front.example:8080 " in body,
          "absolute-form target forwarded as origin-form with its Host (%s)"
          % body.strip())
    s.sendall(get("HTTPS://Front.Example?q=2", host="front.example"))
    body = read_response(rd).body
    check(body == b"b1 /?q=2\n",
          "absolute-form with an empty path forwarded as /?q=2 (%r)" % body)

    # Expect: 100-continue is forwarded; the server's 100 comes back
    s.sendall(b"PUT /info/e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
              b"Expect: 100-continue\r\n\r\n")
    s.settimeout(5)
    line = rd.line()
    check(line.startswith(b"HTTP/1.1 100"), "100 Continue relayed before the body")
    while rd.line():
        pass
    s.sendall(b"data")
    resp = read_response(rd)
    check(resp.status == 200 and b"len=4" in resp.body and b"expect=100-continue"
          in resp.body, "body sent after 100 reached the server")

    # interim responses that came in one segment with the final one: all
    # relayed, in order, and the final one not held back for another read
    s.sendall(get("/hints/2"))
    resp = read_response(rd)
    firsts = [h.split(b"\r\n")[0] for h in resp.interim]
    check(firsts == [b"HTTP/1.1 103 Early Hints"] * 2 and b"</s1.css>" in resp.interim[1]
          and resp.body == b"b1 /hints/2\n",
          "two 103 Early Hints and the 200 of one segment relayed (%s)" % firsts)

    # Connection: close ends the connection after the response
    s.sendall(get("/bye", extra="Connection: close\r\n") + get("/never"))
    resp = read_response(rd)
    check(resp.status == 200 and resp.header("connection") == "close",
          "Connection: close answered with Connection: close")
    check(rd.closed(), "connection closed after it; the pipelined request is dropped")
    s.close()

    # HTTP/1.0 without keep-alive: one response, then close
    s = connect(front)
    rd = Reader(s)
    s.sendall(b"GET /ten HTTP/1.0\r\n\r\n")
    resp = read_response(rd)
    check(resp.status == 200 and resp.body == b"b1 /ten\n" and rd.closed(),
          "HTTP/1.0 request answered, then the connection is closed")
    s.close()

    # HTTP/1.0 absolute-form without Host: the authority becomes the Host
    s = connect(front)
    rd = Reader(s)
    s.sendall(b"GET http://ten.example:81/info/ten HTTP/1.0\r\n\r\n")
    resp = read_response(rd)
    body = resp.body.decode()
    check(resp.status == 200 and "target=/info/ten " in body and
          "host=ten.example:81 " in body,
          "HTTP/1.0 absolute-form gets Host from its authority (%s)" % body.strip())
    s.close()

    # max_keepalive_requests = 3
    s = connect(front2)
    rd = Reader(s)
    for i in range(3):
        s.sendall(get("/m%d" % i))
        resp = read_response(rd)
    check(resp.header("connection") == "close" and rd.closed(),
          "third request on a max_keepalive_requests = 3 frontend closes")
    s.close()

    log = r.log()
    lines = [l for l in log.splitlines() if "access: http " in l]
    check(len(lines) >= 40 and all("status=" in l and "ttfb_ms=" in l for l in lines),
          "one access-log line per request (%d lines)" % len(lines))
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
