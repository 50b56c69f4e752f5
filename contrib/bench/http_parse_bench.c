/*
 * http_parse_bench: nanoseconds per typical request head (a browser-like GET of
 * about 500 bytes, and a small API POST) parsed, and parsed plus rewritten for
 * the backend; and per response head parsed and rewritten. A benchmark, never a
 * test. Usage: http_parse_bench [seconds-per-case]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_parser.h"
#include "http/http_rewrite.h"

static const char browser_get[] =
    "GET /static/app/main.js?v=20261126 HTTP/1.1\r\n"
    "Host: www.example.test\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 "
    "Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-GB,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.test/index.html\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
    "Sec-Fetch-Dest: script\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "If-None-Match: \"5f2a-1234567890\"\r\n"
    "\r\n";

static const char api_post[] =
    "POST /api/v1/items HTTP/1.1\r\n"
    "Host: api.example.test\r\n"
    "User-Agent: wrk\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 27\r\n"
    "\r\n";

static const char response[] =
    "HTTP/1.1 200 OK\r\n"
    "Date: Thu, 26 Nov 2026 21:00:00 GMT\r\n"
    "Server: backend\r\n"
    "Content-Type: application/javascript\r\n"
    "Content-Length: 12345\r\n"
    "Cache-Control: max-age=3600\r\n"
    "ETag: \"5f2a-1234567890\"\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile size_t sink;

static int run(const char *name, const char *raw, int mode, double seconds)
{
    struct http_header h[64];
    struct http_msg m;
    static char out[4096];
    size_t len = strlen(raw), n = 0;
    struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
    struct http_response_forward rfwd = {true, 1};
    unsigned long iters = 0;
    double t0 = now_s(), t;

    do {
        for (int k = 0; k < 1000; k++) {
            int rc;
            if (mode == 2) {
                http_msg_init_response(&m, h, 64, HTTP_METHOD_GET, false);
                rc = http_parse_response(&m, raw, len, NULL);
            } else {
                http_msg_init_request(&m, h, 64);
                rc = http_parse_request(&m, raw, len, NULL);
            }
            if (rc != HTTP_OK) {
                fprintf(stderr, "%s: parse failed: %s\n", name, m.error);
                return 1;
            }
            if (mode == 1)
                rc = http_rewrite_request(&m, raw, &fwd, out, sizeof(out), &n);
            else if (mode == 2)
                rc = http_rewrite_response(&m, raw, &rfwd, out, sizeof(out), &n);
            if (rc != HTTP_OK)
                return 1;
            sink += m.head_bytes + n;
        }
        iters += 1000;
        t = now_s() - t0;
    } while (t < seconds);
    printf("%-34s %5zu bytes  %8.1f ns/head  %7.2f Mheads/s  %7.0f MB/s\n", name,
           len, t * 1e9 / (double)iters, (double)iters / t / 1e6,
           (double)iters * (double)len / t / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    int rc = 0;
    rc |= run("request GET (browser), parse", browser_get, 0, seconds);
    rc |= run("request GET (browser), +rewrite", browser_get, 1, seconds);
    rc |= run("request POST (api), parse", api_post, 0, seconds);
    rc |= run("request POST (api), +rewrite", api_post, 1, seconds);
    rc |= run("response 200, parse+rewrite", response, 2, seconds);
    return rc;
}
