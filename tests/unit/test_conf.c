/*
 * test_conf: conf_load() on good and bad files. Each bad input is written to a file
 * in a fresh temporary directory and the complete list of diagnostics is compared,
 * text for text, with what a user would see. "%F" in an expected message stands
 * for the file's path and "%D" for its directory.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "conf/conf.h"

#ifndef CONF_EXAMPLE_DIR
#define CONF_EXAMPLE_DIR "conf"
#endif

static char dir[64];
static char path[128];

static void write_file(const char *name, const char *text, mode_t mode)
{
    char p[160];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
    char p[160];

    (void)state;
    strcpy(dir, "/tmp/raftlb-test-conf-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/t.ini", dir);
    write_file("cert.pem", "cert\n", 0644);
    write_file("key.pem", "key\n", 0600);
    write_file("token", "secret-token\n", 0600);
    write_file("secret", "cluster-secret\n", 0600);
    write_file("hook.sh", "#!/bin/sh\n", 0755);
    write_file("noexec.sh", "#!/bin/sh\n", 0644);
    snprintf(p, sizeof(p), "%s/sub", dir);
    return mkdir(p, 0755);
}

static int teardown(void **state)
{
    static const char *const files[] = {"t.ini",  "cert.pem", "key.pem",  "token",
                                        "secret", "hook.sh",  "noexec.sh"};
    char p[160];

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/sub", dir);
    rmdir(p);
    return rmdir(dir);
}

/* Expands %F and %D in `in`. */
static void expand(const char *in, char *out, size_t len)
{
    size_t o = 0;

    for (; *in && o + 1 < len; in++) {
        const char *sub = NULL;
        if (in[0] == '%' && in[1] == 'F')
            sub = path;
        else if (in[0] == '%' && in[1] == 'D')
            sub = dir;
        if (sub != NULL) {
            o += (size_t)snprintf(out + o, len - o, "%s", sub);
            in++;
        } else {
            out[o++] = *in;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

/* Loads `text` (written as t.ini) and returns the configuration, or NULL with the
 * messages in diag. */
static struct conf *load_text(const char *text, struct conf_diag *diag)
{
    struct conf *c = NULL;

    write_file("t.ini", text, 0644);
    memset(diag, 0, sizeof(*diag));
    if (conf_load(path, &c, diag) != 0) {
        assert_null(c);
        return NULL;
    }
    assert_int_equal(diag->count, 0);
    return c;
}

static struct conf *load_ok(const char *text)
{
    struct conf_diag diag;
    struct conf *c = load_text(text, &diag);

    if (c == NULL) {
        for (size_t i = 0; i < diag.count; i++)
            print_error("  %s\n", diag.msgs[i]);
        conf_diag_free(&diag);
        fail_msg("a good configuration was rejected");
    }
    return c;
}

/* A valid frontend and pool (lines 1-5); bad cases append to it from line 6. */
#define BASE                                                                             \
    "[frontend web]\nbind = 127.0.0.1:8080\npool = app\n[pool app]\nserver = a "         \
    "127.0.0.1:9001\n"

struct bad_case {
    const char *name;
    const char *text;
    const char *want[6]; /* NULL-terminated */
};

static const struct bad_case bad_cases[] = {
    {"unknown section, near miss",
     BASE "[frontnd x]\n",
     {"%F:6: unknown section 'frontnd' (did you mean 'frontend'?)"}},
    {"unknown section",
     BASE "[backend x]\n",
     {"%F:6: unknown section 'backend' (expected global, frontend NAME, pool NAME, "
      "cluster or admin)"}},
    {"unknown key, near miss",
     BASE "[global]\nwrokers = 2\n",
     {"%F:7: unknown key 'wrokers' in [global] (did you mean 'workers'?)"}},
    {"key of another section",
     BASE "[global]\nbalance = ring\n",
     {"%F:7: unknown key 'balance' in [global] (it belongs in [pool NAME])"}},
    {"unknown key",
     BASE "[global]\nthreads = 2\n",
     {"%F:7: unknown key 'threads' in [global]"}},
    {"unknown key in a named section",
     BASE "timeout_clinet = 5s\n",
     {"%F:6: unknown key 'timeout_clinet' in [pool app] (did you mean 'timeout_client' "
      "of "
      "[frontend NAME]?)"}},
    {"key before any section",
     "workers = 1\n" BASE,
     {"%F:1: key 'workers' comes before any [section]"}},
    {"repeated key",
     BASE "[global]\nworkers = 1\nworkers = 2\n",
     {"%F:8: key 'workers' repeated (first at line 7)"}},
    {"repeated section",
     BASE "[global]\n[global]\n",
     {"%F:7: section [global] repeated (first at line 6)"}},
    {"duplicate frontend",
     BASE "[frontend web]\nbind = 127.0.0.1:8081\npool = app\n",
     {"%F:6: duplicate frontend 'web' (first at line 1)"}},
    {"duplicate pool",
     BASE "[pool app]\nserver = b 127.0.0.1:9002\n",
     {"%F:6: duplicate pool 'app' (first at line 4)"}},
    {"duplicate server",
     BASE "server = a 127.0.0.1:9002\n",
     {"%F:6: duplicate server 'a' in pool 'app' (first at line 5)"}},
    {"frontend pointing at a missing pool",
     "[frontend web]\nbind = 127.0.0.1:8080\npool = apq\n[pool app]\nserver = a "
     "127.0.0.1:9001\n",
     {"%F:3: frontend 'web': pool 'apq' is not defined (did you mean 'app'?)"}},
    {"pool without servers",
     BASE "[pool empty]\nbalance = leastconn\n",
     {"%F:6: pool 'empty' has no server"}},
    {"frontend without bind",
     BASE "[frontend other]\npool = app\n",
     {"%F:6: frontend 'other' has no bind"}},
    {"frontend without pool",
     BASE "[frontend other]\nbind = 127.0.0.1:8081\n",
     {"%F:6: frontend 'other' has no pool"}},
    {"no frontend at all",
     "[pool app]\nserver = a 127.0.0.1:9001\n",
     {"%F: no [frontend NAME] section"}},
    {"port out of range",
     BASE "[admin]\nbind = 127.0.0.1:65536\ntoken_file = token\n",
     {"%F:7: bind: port 65536 out of range (1-65535) in '127.0.0.1:65536'"}},
    {"port zero",
     BASE "server = b 127.0.0.1:0\n",
     {"%F:6: server b: port 0 out of range (1-65535) in '127.0.0.1:0'"}},
    {"bad IPv4 address",
     BASE "server = b 127.0.0.256:80\n",
     {"%F:6: server b: bad IPv4 address '127.0.0.256' in '127.0.0.256:80'"}},
    {"IPv6 without brackets",
     BASE "server = b ::1:80\n",
     {"%F:6: server b: an IPv6 address goes in brackets, e.g. [::1]:80, got '::1:80'"}},
    {"bad IPv6 address",
     BASE "server = b [::g]:80\n",
     {"%F:6: server b: bad IPv6 address '::g' in '[::g]:80'"}},
    {"address without port",
     BASE "server = b 127.0.0.1\n",
     {"%F:6: server b: expected HOST:PORT, [IPV6]:PORT or *:PORT, got '127.0.0.1'"}},
    {"wildcard server address",
     BASE "server = b *:80\n",
     {"%F:6: server b: '*' (any address) is only for bind, got '*:80'"}},
    {"server line without address",
     BASE "server = b\n",
     {"%F:6: server: expected 'NAME HOST:PORT [option ...]', got 'b'"}},
    {"unreadable tls_cert",
     "[frontend web]\nbind = 127.0.0.1:8080\npool = app\ntls_cert = missing.pem\n"
     "tls_key = key.pem\n[pool app]\nserver = a 127.0.0.1:9001\n",
     {"%F:4: tls_cert: cannot read '%D/missing.pem': No such file or directory"}},
    {"tls_cert is a directory",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\npool = app\n"
          "tls_cert = sub\ntls_key = key.pem\n",
     {"%F:9: tls_cert: '%D/sub' is not a regular file"}},
    {"tls_cert without tls_key",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\npool = app\n"
          "tls_cert = cert.pem\n",
     {"%F:9: frontend 'tls': tls_cert without a tls_key"}},
    {"second tls_cert without tls_key",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\npool = app\ntls_cert = cert.pem\n"
          "tls_key = key.pem\ntls_cert = cert.pem\n",
     {"%F:11: frontend 'tls': tls_cert without a tls_key"}},
    {"tls options without a certificate",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\n"
          "pool = app\ntls_min_version = 1.3\n",
     {"%F:9: frontend 'tls': tls_min_version needs tls_cert and tls_key"}},
    {"session cache without a certificate",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\n"
          "pool = app\ntls_session_cache = 100\n",
     {"%F:9: frontend 'tls': tls_session_cache needs tls_cert and tls_key"}},
    {"session cache too large",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\npool = app\ntls_cert = cert.pem\n"
          "tls_key = key.pem\ntls_session_cache = 2000000\n",
     {"%F:11: tls_session_cache: expected a whole number from 0 to 1000000, got '2000000'"}},
    {"unreadable tls_key",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\npool = app\ntls_cert = cert.pem\n"
          "tls_key = absent.key\n",
     {"%F:10: tls_key: cannot read '%D/absent.key': No such file or directory"}},
    {"missing hook",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7001\n"
          "peers = n1@127.0.0.1:7001\ndata_dir = data\nsecret_file = secret\n"
          "on_follower = absent.sh\n",
     {"%F:12: on_follower: cannot execute '%D/absent.sh': No such file or directory"}},
    {"http keys on a tcp frontend",
     BASE
     "[frontend t]\nbind = 127.0.0.1:8081\nmode = tcp\npool = app\nmax_headers = 50\n",
     {"%F:10: frontend 't': max_headers has no effect with mode = tcp"}},
    {"every server has weight 0",
     BASE "[pool z]\nserver = z 127.0.0.1:9009 weight=0\n",
     {"%F:6: pool 'z': every server has weight 0"}},
    {"only backup servers",
     BASE "[pool z]\nserver = z 127.0.0.1:9009 backup\n",
     {"%F:6: pool 'z' has only backup servers"}},
    {"unreadable ca file",
     BASE "server = b 127.0.0.1:9002 tls ca=nope.pem\n",
     {"%F:6: server b: ca: cannot read '%D/nope.pem': No such file or directory"}},
    {"unreadable token_file",
     BASE "[admin]\nbind = 127.0.0.1:9100\ntoken_file = nope\n",
     {"%F:8: token_file: cannot read '%D/nope': No such file or directory"}},
    {"admin without token_file",
     BASE "[admin]\nbind = 127.0.0.1:9100\n",
     {"%F:6: [admin] needs token_file (every change must be authorised)"}},
    {"hook not executable",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7001\npeers = n1@127.0.0.1:7001\n"
          "data_dir = data\nsecret_file = secret\non_leader = noexec.sh\n",
     {"%F:12: on_leader: cannot execute '%D/noexec.sh': Permission denied"}},
    {"unreadable secret_file",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7001\npeers = n1@127.0.0.1:7001\n"
          "data_dir = data\nsecret_file = nope\n",
     {"%F:11: secret_file: cannot read '%D/nope': No such file or directory"}},
    {"node_id not among peers",
     BASE "[cluster]\nnode_id = n4\nbind = 127.0.0.1:7001\n"
          "peers = n1@127.0.0.1:7001, n2@127.0.0.1:7002\ndata_dir = data\n"
          "secret_file = secret\n",
     {"%F:7: node_id 'n4' is not among the peers"}},
    {"cluster bind differs from own peer address",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7009\npeers = n1@127.0.0.1:7001\n"
          "data_dir = data\nsecret_file = secret\n",
     {"%F:8: [cluster] bind 127.0.0.1:7009 does not match n1's address 127.0.0.1:7001 in "
      "peers"}},
    {"heartbeat not below election timeout",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7001\npeers = n1@127.0.0.1:7001\n"
          "data_dir = data\nsecret_file = secret\nheartbeat_interval = 300ms\n",
     {"%F:12: heartbeat_interval must be below election_timeout"}},
    {"cluster missing keys",
     BASE "[cluster]\nnode_id = n1\n",
     {"%F:6: [cluster] needs bind", "%F:6: [cluster] needs peers",
      "%F:6: [cluster] needs data_dir", "%F:6: [cluster] needs secret_file"}},
    {"duplicate peer id",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7001\n"
          "peers = n1@127.0.0.1:7001, n1@127.0.0.1:7002\ndata_dir = data\n"
          "secret_file = secret\n",
     {"%F:9: peers: duplicate peer id 'n1'"}},
    {"peer without id",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7001\n"
          "peers = 127.0.0.1:7001\ndata_dir = data\nsecret_file = secret\n",
     {"%F:9: peers: expected ID@HOST:PORT, got '127.0.0.1:7001'"}},
    {"workers above 1024",
     BASE "[global]\nworkers = 2000\n",
     {"%F:7: workers: expected a whole number from 0 to 1024, got '2000'"}},
    {"poll_batch_us above 1000",
     BASE "[global]\npoll_batch_us = 5000\n",
     {"%F:7: poll_batch_us: expected a whole number from 0 to 1000, got '5000'"}},
    {"negative number",
     BASE "retries = -1\n",
     {"%F:6: retries: expected a whole number from 0 to 10, got '-1'"}},
    {"'#' after a value is not a comment",
     BASE "[global]\nworkers = 2 # two\n",
     {"%F:7: workers: expected a whole number from 0 to 1024, got '2 # two'"}},
    {"weight above 256",
     BASE "server = b 127.0.0.1:9002 weight=300\n",
     {"%F:6: server b: weight: expected a whole number from 0 to 256, got '300'"}},
    {"bad weight on a pool's only server: one error, not also 'every server has "
     "weight 0'",
     "[frontend web]\nbind = 127.0.0.1:8080\npool = app\n[pool app]\n"
     "server = a 127.0.0.1:9001 weight=999\n",
     {"%F:5: server a: weight: expected a whole number from 0 to 256, got '999'"}},
    {"maglev table size not prime",
     BASE "balance = maglev\nmaglev_table_size = 65536\n",
     {"%F:7: maglev_table_size: 65536 is not a prime number (e.g. 65537, 131071, "
      "1000003)"}},
    {"maglev table too small for its servers",
     BASE "balance = maglev\nmaglev_table_size = 97\n",
     {"%F:7: pool 'app': maglev_table_size 97 is below 100 entries per server (1 "
      "servers)"}},
    {"ring with more points than a table holds",
     BASE "balance = ring\nring_points = 10000\nserver = b 127.0.0.1:9002 weight=256\n"
          "server = c 127.0.0.1:9003 weight=256\nserver = d 127.0.0.1:9004 "
          "weight=256\nserver = e 127.0.0.1:9005 weight=256\n",
     {"%F:7: pool 'app': ring_points 10000 x total weight 1025 is over 8388608 points; "
      "lower ring_points or the weights"}},
    {"a body check on HEAD probes",
     BASE "health = http\nhealth_method = HEAD\nhealth_body = ok\n",
     {"%F:8: pool 'app': health_body can never match with health_method = HEAD"}},
    {"hash key with a non-hashing balance",
     BASE "hash_key = source\n",
     {"%F:6: pool 'app': hash_key needs balance = ring or maglev"}},
    {"ring_points on a round-robin pool",
     BASE "ring_points = 100\n",
     {"%F:6: pool 'app': ring_points needs balance = ring"}},
    {"a queue without maxconn",
     BASE "timeout_queue = 1s\n",
     {"%F:6: pool 'app': timeout_queue needs a server with maxconn"}},
    {"active check settings without active checks",
     BASE "rise = 3\nhealth_interval = 2s\n",
     {"%F:6: pool 'app': rise needs health = tcp, http or https",
      "%F:7: pool 'app': health_interval needs health = tcp, http or https"}},
    {"duration without unit",
     BASE "timeout_connect = 30\n",
     {"%F:6: timeout_connect: '30' has no unit (write 30ms or 30s)"}},
    {"duration with a bad unit",
     BASE "timeout_connect = 5sec\n",
     {"%F:6: timeout_connect: expected a duration such as 500ms, 2s, 1m or 1h, got "
      "'5sec'"}},
    {"duration out of range",
     BASE "timeout_server = 48h\n",
     {"%F:6: timeout_server: expected a duration from 1ms to 24h, got '48h'"}},
    {"empty duration",
     BASE "timeout_server =\n",
     {"%F:6: timeout_server: expected a duration such as 500ms, 2s, 1m or 1h, got "
      "nothing"}},
    {"bad size",
     BASE "[frontend x]\nbind = 127.0.0.1:8081\npool = app\n"
          "max_header_bytes = 10q\n",
     {"%F:9: max_header_bytes: expected a size such as 512, 16k, 1m or 1g, got '10q'"}},
    {"tunnel timeout out of range",
     BASE "[frontend x]\nbind = 127.0.0.1:8081\npool = app\n"
          "timeout_tunnel = 25h\n",
     {"%F:9: timeout_tunnel: expected a duration from 1ms to 24h, got '25h'"}},
    {"tunnel timeout on a tcp frontend",
     BASE "[frontend t]\nbind = 127.0.0.1:8081\nmode = tcp\npool = app\n"
          "timeout_tunnel = 1s\n",
     {"%F:10: frontend 't': timeout_tunnel has no effect with mode = tcp"}},
    {"size out of range",
     BASE "[frontend x]\nbind = 127.0.0.1:8081\npool = app\n"
          "max_header_bytes = 2m\n",
     {"%F:9: max_header_bytes: expected a size from 1k to 1m, got '2m'"}},
    {"bad boolean",
     BASE "server = b 127.0.0.1:9002 check=maybe\n",
     {"%F:6: server b: check: expected on/off, yes/no, true/false or 1/0, got 'maybe'"}},
    {"unknown server option",
     BASE "server = b 127.0.0.1:9002 wieght=3\n",
     {"%F:6: server b: unknown option 'wieght' (did you mean 'weight'?)"}},
    {"bad server state",
     BASE "server = b 127.0.0.1:9002 state=drained\n",
     {"%F:6: server b: state: expected ready, drain or maint, got 'drained' (did you "
      "mean 'drain'?)"}},
    {"server option without value",
     BASE "server = b 127.0.0.1:9002 maxconn\n",
     {"%F:6: server b: option 'maxconn' needs a value: maxconn=..."}},
    {"verify without tls",
     BASE "server = b 127.0.0.1:9002 verify=off\n",
     {"%F:6: server b: verify, ca and sni need tls (or health = https)"}},
    {"bad enumeration",
     BASE "balance = magelv\n",
     {"%F:6: balance: expected roundrobin, leastconn, random2, ring or maglev, got "
      "'magelv' (did you mean 'maglev'?)"}},
    {"bad retry_on_status",
     BASE "retry_on_status = 5xx\n",
     {"%F:6: retry_on_status: expected status codes and ranges such as 500,502-504, or "
      "none, got '5xx'"}},
    {"retry_on_status with a tcp frontend",
     "[frontend t]\nbind = 127.0.0.1:8090\nmode = tcp\npool = app\n\n[pool app]\n"
     "retry_on_status = 503\nserver = a 127.0.0.1:9001\n",
     {"%F:4: frontend 't' is mode tcp but pool 'app' sets retry_on_status (HTTP answers "
      "only)"}},
    {"retry_on_timeout with a tcp frontend",
     "[frontend t]\nbind = 127.0.0.1:8090\nmode = tcp\npool = app\n\n[pool app]\n"
     "retry_on_timeout = off\nserver = a 127.0.0.1:9001\n",
     {"%F:4: frontend 't' is mode tcp but pool 'app' sets retry_on_timeout (HTTP requests "
      "only)"}},
    {"bad health_expect",
     BASE "health = http\nhealth_expect = 399-200\n",
     {"%F:7: health_expect: status codes go from 100 to 599 and a range from low to "
      "high, "
      "got '399-200'"}},
    {"health_path without http health",
     BASE "health_path = /ping\n",
     {"%F:6: pool 'app': health_path needs health = http or https"}},
    {"health timeout above interval",
     BASE "health = tcp\nhealth_timeout = 2s\n",
     {"%F:7: pool 'app': health_timeout must not exceed health_interval"}},
    {"bad hash_key",
     BASE "balance = ring\nhash_key = url\n",
     {"%F:7: hash_key: expected source, uri, path, header:NAME or cookie:NAME, got "
      "'url'"}},
    {"hash_key header without name",
     BASE "balance = ring\nhash_key = header:\n",
     {"%F:7: hash_key: header:NAME: a name is missing"}},
    {"tcp frontend on a pool hashing the uri",
     "[frontend t]\nbind = 127.0.0.1:8080\nmode = tcp\npool = app\n[pool app]\n"
     "balance = maglev\nhash_key = uri\nserver = a 127.0.0.1:9001\n",
     {"%F:4: frontend 't' is mode tcp but pool 'app' hashes on uri (use hash_key = "
      "source)"}},
    {"bad balance_factor",
     BASE "balance = ring\nbalance_factor = 1\n",
     {"%F:7: balance_factor: expected 0 (off) or a number above 1 such as 1.25, got "
      "'1'"}},
    {"address bound twice",
     BASE "[frontend b]\nbind = 127.0.0.1:8080\npool = app\n",
     {"%F:6: frontend b: bind 127.0.0.1:8080 is already used by frontend 'web'"}},
    {"any-address overlapping a bind",
     BASE "[frontend b]\nbind = *:8080\npool = app\n",
     {"%F:6: frontend b: bind *:8080 is already used by frontend 'web'"}},
    {"admin bind taken by a frontend",
     BASE "[admin]\nbind = 127.0.0.1:8080\ntoken_file = token\n",
     {"%F:7: [admin]: bind 127.0.0.1:8080 is already used by frontend 'web'"}},
    {"bad vip",
     BASE "[cluster]\nnode_id = n1\nbind = 127.0.0.1:7001\n"
          "peers = n1@127.0.0.1:7001\ndata_dir = data\nsecret_file = secret\n"
          "vip = 127.0.0.10 lo\n",
     {"%F:12: vip: expected ADDRESS/PREFIX dev INTERFACE such as '192.0.2.10/24 dev "
      "eth0', "
      "got '127.0.0.10 lo'"}},
    {"empty name",
     BASE "[frontend x]\nbind = 127.0.0.1:8081\npool =\n",
     {"%F:8: pool: a name is missing"}},
    {"line without '='",
     BASE "server 127.0.0.1:9002\n",
     {"%F:6: expected 'key = value', '[section]' or a comment, got 'server "
      "127.0.0.1:9002'"}},
    {"key name missing", BASE "= 3\n", {"%F:6: a key name is missing before '='"}},
    {"section header without ']'",
     BASE "[global\n",
     {"%F:6: section header without ']'"}},
    {"text after a section header",
     BASE "[global] x\n",
     {"%F:6: unexpected text after ']': 'x'"}},
    {"frontend without a name",
     BASE "[frontend]\n",
     {"%F:6: section [frontend] needs a name: [frontend NAME]"}},
    {"global with a name",
     BASE "[global main]\n",
     {"%F:6: section [global] takes no name, got 'main'"}},
    {"bad section name",
     BASE "[pool a/b]\n",
     {"%F:6: [pool]: name 'a/b' may hold only letters, digits, '_', '-' and '.'"}},
    {"error log cannot be off",
     BASE "[global]\nerror_log = off\n",
     {"%F:7: error_log: the error log cannot be off (use stderr, syslog or a path)"}},
    {"unsupported TLS version",
     BASE "[frontend tls]\nbind = 127.0.0.1:8443\npool = app\ntls_cert = cert.pem\n"
          "tls_key = key.pem\ntls_min_version = 1.1\n",
     {"%F:11: tls_min_version: expected 1.2 or 1.3, got '1.1'"}},
    {"empty section header", BASE "[]\n", {"%F:6: empty section header []"}},
    {"too many server options",
     BASE "server = b 127.0.0.1:9002 a b c d e f g h i j k l m n o p q r s t u v w x y z "
          "1 2 3 4 "
          "5\n",
     {"%F:6: server: more than 30 options"}},
    {"name too long",
     BASE "[pool p123456789012345678901234567890123456789012345678901234567890123]\n",
     {"%F:6: [pool]: name 'p1234567890123456789...' is longer than 63 characters"}},
    {"NUL byte", BASE "[global]\nworkers = 1\0 2\n", {"%F:7: line contains a NUL byte"}},
};

/* write_file() stops at a NUL; this case needs the bytes written as they are. */
static void write_bytes(const char *text, size_t len)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void check_bad(const struct bad_case *bc, const struct conf_diag *diag,
                      int *failed)
{
    size_t want_count = 0;
    char want[1024];

    while (want_count < 6 && bc->want[want_count] != NULL)
        want_count++;
    for (size_t i = 0; i < want_count || i < diag->count; i++) {
        const char *got = i < diag->count ? diag->msgs[i] : "(nothing)";
        if (i < want_count)
            expand(bc->want[i], want, sizeof(want));
        else
            strcpy(want, "(nothing)");
        if (strcmp(got, want) != 0) {
            print_error("case '%s', message %zu:\n  got:  %s\n  want: %s\n", bc->name, i,
                        got, want);
            (*failed)++;
        }
    }
}

static void test_conf_rejects_each_bad_input_with_exact_message(void **state)
{
    int failed = 0;

    (void)state;
    assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 40);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        struct conf_diag diag = {0};
        struct conf *c = NULL;

        if (strcmp(bc->name, "NUL byte") == 0) {
            static const char nul[] = BASE "[global]\nworkers = 1\0 2\n";
            write_bytes(nul, sizeof(nul) - 1);
        } else {
            write_file("t.ini", bc->text, 0644);
        }
        if (conf_load(path, &c, &diag) == 0) {
            print_error("case '%s' was accepted\n", bc->name);
            conf_free(c);
            failed++;
            continue;
        }
        assert_null(c);
        check_bad(bc, &diag, &failed);
        conf_diag_free(&diag);
    }
    assert_int_equal(failed, 0);
}

static void test_conf_missing_file_is_reported(void **state)
{
    struct conf_diag diag = {0};
    struct conf *c = (struct conf *)&diag; /* must be set to NULL */
    char want[256];

    (void)state;
    snprintf(want, sizeof(want), "%s/absent.ini: cannot open: No such file or directory",
             dir);
    snprintf(path, sizeof(path), "%s/absent.ini", dir);
    assert_int_equal(conf_load(path, &c, &diag), -1);
    snprintf(path, sizeof(path), "%s/t.ini", dir);
    assert_null(c);
    assert_int_equal(diag.count, 1);
    assert_string_equal(diag.msgs[0], want);
    conf_diag_free(&diag);
}

static void test_conf_directory_is_not_a_configuration(void **state)
{
    struct conf_diag diag = {0};
    struct conf *c = NULL;
    char want[256];

    (void)state;
    snprintf(want, sizeof(want), "%s: not a regular file", dir);
    assert_int_equal(conf_load(dir, &c, &diag), -1);
    assert_null(c);
    assert_int_equal(diag.count, 1);
    assert_string_equal(diag.msgs[0], want);
    conf_diag_free(&diag);
}

/* Random files assembled from pieces of the syntax and random bytes: every one is
 * either accepted or rejected with messages that name the file, and nothing
 * crashes (the sanitizer build also checks memory errors and leaks). Seeded. */
static void test_conf_survives_garbage(void **state)
{
    static const char *const pieces[] = {"[",
                                         "]",
                                         "[frontend web]\n",
                                         "[pool app]\n",
                                         "[global]\n",
                                         "[cluster]\n",
                                         "[admin]\n",
                                         "bind = ",
                                         "pool = ",
                                         "server = ",
                                         "a ",
                                         "127.0.0.1:",
                                         "[::1]:",
                                         "*:",
                                         "9001",
                                         "65536",
                                         " weight=",
                                         "=",
                                         ":",
                                         ";",
                                         "#",
                                         " ",
                                         "\t",
                                         "\n",
                                         "\r\n",
                                         "peers = ",
                                         "n1@",
                                         ",",
                                         "tls_cert = ",
                                         "tls_key = ",
                                         "cert.pem",
                                         "30s",
                                         "16k",
                                         "on",
                                         "maglev",
                                         "hash_key = ",
                                         "header:",
                                         "health_expect = ",
                                         "200-",
                                         "399",
                                         "node_id = n1\n",
                                         "\xEF\xBB\xBF",
                                         "\xff",
                                         "tcp",
                                         "mode = "};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char text[4096];

    (void)state;
    for (int round = 0; round < 400; round++) {
        size_t len = 0;
        int n;
        struct conf_diag diag;
        struct conf *c;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        n = (int)(x % 60);
        for (int i = 0; i < n; i++) {
            const char *p;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p = pieces[x % (sizeof(pieces) / sizeof(pieces[0]))];
            if (len + strlen(p) + 1 >= sizeof(text))
                break;
            memcpy(text + len, p, strlen(p));
            len += strlen(p);
        }
        text[len] = '\0';
        c = load_text(text, &diag);
        if (c != NULL) {
            conf_free(c);
            continue;
        }
        if (diag.count == 0)
            fail_msg("round %d: rejected without a message:\n%s", round, text);
        for (size_t i = 0; i < diag.count; i++)
            if (strncmp(diag.msgs[i], path, strlen(path)) != 0)
                fail_msg("round %d: message without the file name: %s", round,
                         diag.msgs[i]);
        conf_diag_free(&diag);
    }
}

static void test_conf_line_too_long_is_skipped_and_reported(void **state)
{
    char text[1024];
    char want[256];
    struct conf_diag diag;

    (void)state;
    /* line 6: 199 characters; line 7: 198 characters, the longest accepted; the tail
     * of line 6 must not be read as a line of its own. */
    snprintf(text, sizeof(text), BASE "health_path = /%0184d\nhealth_path = /%0183d\n", 0,
             0);
    assert_null(load_text(text, &diag));
    assert_int_equal(diag.count, 2);
    snprintf(want, sizeof(want), "%s:6: line too long (199 characters, at most 198)",
             path);
    assert_string_equal(diag.msgs[0], want);
    snprintf(want, sizeof(want),
             "%s:7: pool 'app': health_path needs health = http or https", path);
    assert_string_equal(diag.msgs[1], want);
    conf_diag_free(&diag);
}

static void test_conf_reports_every_problem_in_file_order(void **state)
{
    static const char text[] = "[global]\n"
                               "workers = many\n"            /* 2 */
                               "[frontend web]\n"            /* 3: has no bind */
                               "pool = app\n"                /* 4 */
                               "mode = htp\n"                /* 5 */
                               "[pool app]\n"                /* 6 */
                               "server = a 127.0.0.1:9001\n" /* 7 */
                               "server = a 127.0.0.1:9002\n" /* 8 */
                               "[admn]\n";                   /* 9 */
    static const char *const want[] = {
        "%F:2: workers: expected a whole number from 0 to 1024, got 'many'",
        "%F:3: frontend 'web' has no bind",
        "%F:5: mode: expected http or tcp, got 'htp' (did you mean 'http'?)",
        "%F:8: duplicate server 'a' in pool 'app' (first at line 7)",
        "%F:9: unknown section 'admn' (did you mean 'admin'?)",
    };
    struct conf_diag diag;
    char w[512];

    (void)state;
    assert_null(load_text(text, &diag));
    assert_int_equal(diag.count, 5);
    for (size_t i = 0; i < 5; i++) {
        expand(want[i], w, sizeof(w));
        assert_string_equal(diag.msgs[i], w);
    }
    conf_diag_free(&diag);
}

static uint16_t port_of(const struct conf_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static void test_conf_defaults_are_as_documented(void **state)
{
    struct conf *c;
    const struct conf_frontend *f;
    const struct conf_pool *p;
    const struct conf_server *s;

    (void)state;
    c = load_ok("[frontend web]\nbind = 127.0.0.1:8080\npool = app\n"
                "[frontend raw]\nbind = 127.0.0.1:8081\nmode = tcp\npool = tcp\n"
                "[pool app]\nserver = a 127.0.0.1:9001\n"
                "[pool tcp]\nserver = b 127.0.0.1:9002\n");
    assert_string_equal(c->path, path);
    assert_int_equal(c->global.workers, 0);
    assert_int_equal(c->global.max_connections, 100000);
    assert_int_equal(c->global.poll_batch_us, 100);
    assert_int_equal(c->global.log_level, CONF_LOG_INFO);
    assert_string_equal(c->global.error_log, "stderr");
    assert_string_equal(c->global.access_log, "stderr");
    assert_int_equal(c->global.grace_ms, 30000);
    assert_null(c->global.pid_file);

    assert_int_equal(c->frontend_count, 2);
    f = &c->frontends[0];
    assert_string_equal(f->name, "web");
    assert_int_equal(f->line, 1);
    assert_int_equal(f->mode, CONF_MODE_HTTP);
    assert_string_equal(f->pool_name, "app");
    assert_int_equal(f->pool, 0);
    assert_int_equal(c->frontends[1].pool, 1);
    assert_int_equal(f->cert_count, 0);
    assert_null(f->tls_ciphers);
    assert_string_equal(f->tls_min_version, "1.2");
    assert_int_equal(f->timeout_client_ms, 30000);
    assert_int_equal(f->timeout_http_request_ms, 10000);
    assert_int_equal(f->timeout_http_keepalive_ms, 5000);
    assert_int_equal(f->timeout_tunnel_ms, 3600000);
    assert_int_equal(f->timeout_tls_handshake_ms, 10000);
    assert_int_equal(f->tls_session_cache, 20000);
    assert_int_equal(f->max_keepalive_requests, 1000);
    assert_int_equal(f->max_body_bytes, 0);
    assert_int_equal(f->max_header_bytes, 65536);
    assert_int_equal(f->max_headers, 100);

    p = conf_find_pool(c, "app");
    assert_non_null(p);
    assert_ptr_equal(p, &c->pools[0]);
    assert_null(conf_find_pool(c, "nope"));
    assert_int_equal(p->balance, CONF_BALANCE_ROUNDROBIN);
    assert_int_equal(p->hash_key, CONF_HASH_URI);
    assert_int_equal(c->pools[1].hash_key, CONF_HASH_SOURCE); /* used by a tcp frontend */
    assert_true(p->balance_factor == 1.25);
    assert_int_equal(p->maglev_table_size, 65537);
    assert_int_equal(p->ring_points, 1280);
    assert_int_equal(p->retries, 2);
    assert_int_equal(p->timeout_connect_ms, 2000);
    assert_int_equal(p->timeout_server_ms, 30000);
    assert_int_equal(p->timeout_server_idle_ms, 4000);
    assert_int_equal(p->timeout_queue_ms, 2000); /* timeout_connect's */
    assert_true(p->retry_on_timeout);
    assert_int_equal(p->health, CONF_HEALTH_NONE);
    assert_string_equal(p->health_method, "GET");
    assert_string_equal(p->health_path, "/");
    assert_null(p->health_host);
    assert_null(p->health_body);
    assert_int_equal(p->retry_status_count, 2);
    assert_int_equal(p->retry_status_lo[0], 500);
    assert_int_equal(p->retry_status_hi[0], 500);
    assert_int_equal(p->retry_status_lo[1], 502);
    assert_int_equal(p->retry_status_hi[1], 504);
    assert_int_equal(p->health_expect_count, 1);
    assert_int_equal(p->health_expect_lo[0], 200);
    assert_int_equal(p->health_expect_hi[0], 399);
    assert_int_equal(p->health_interval_ms, 1000);
    assert_int_equal(p->health_fast_interval_ms, 250);
    assert_int_equal(p->health_timeout_ms, 500);
    assert_int_equal(p->rise, 2);
    assert_int_equal(p->fall, 3);
    assert_int_equal(p->eject_after, 5);
    assert_int_equal(p->eject_time_ms, 10000);
    assert_int_equal(p->max_ejected_percent, 50);

    assert_int_equal(p->server_count, 1);
    s = &p->servers[0];
    assert_string_equal(s->name, "a");
    assert_string_equal(s->addr.text, "127.0.0.1:9001");
    assert_int_equal(port_of(&s->addr), 9001);
    assert_int_equal(s->weight, 1);
    assert_int_equal(s->slowstart_ms, 0);
    assert_int_equal(s->max_conns, 0);
    assert_false(s->backup);
    assert_true(s->check);
    assert_int_equal(s->check_port, 0);
    assert_false(s->tls);
    assert_true(s->tls_verify);
    assert_null(s->tls_ca_file);
    assert_null(s->tls_sni);
    assert_int_equal(s->state, CONF_SERVER_READY);
    assert_int_equal(s->line, 9);

    assert_false(c->cluster.enabled);
    assert_int_equal(c->cluster.heartbeat_interval_ms, 50);
    assert_int_equal(c->cluster.election_timeout_ms, 300);
    assert_false(c->admin.enabled);
    conf_free(c);
}

static void test_conf_parses_values(void **state)
{
    struct conf *c;
    const struct conf_frontend *f;
    const struct conf_pool *p;
    const struct conf_server *s;
    char want[256];

    (void)state;
    c = load_ok(
        "\xEF\xBB\xBF[global]\r\n"
        "workers = 4 ; inline comment\n"
        "log_level = debug\n"
        "access_log = off\n"
        "error_log = logs/error.log\n"
        "grace = 1m\n"
        "[frontend web]\n"
        "bind = 127.0.0.1:8080\n"
        "    bind = [::1]:8080\n" /* indented: an ordinary key, not a continuation */
        "\tbind = *:8081\n"
        "pool = app\n"
        "tls_cert = cert.pem\n"
        "tls_key = key.pem\n"
        "tls_key = key.pem\n"
        "tls_cert = cert.pem\n"
        "timeout_client = 1h\n"
        "timeout_http_request = 500ms\n"
        "timeout_tunnel = 90s\n"
        "max_body_bytes = 1g\n"
        "max_header_bytes = 16k\n"
        "[pool app]\n"
        "balance = maglev\n"
        "hash_key = header:X-User\n"
        "balance_factor = 1.5\n"
        "maglev_table_size = 1009\n"
        "health = https\n"
        "health_expect = 200,204, 300-399\n"
        "retry_on_status = none\n"
        "health_interval = 2s\n"
        "health_fast_interval = 100ms\n"
        "server = a 127.0.0.1:9001 weight=0 slowstart=30s maxconn=100 backup=no\n"
        "server = b [::1]:9002 tls verify=off ca=cert.pem sni=api.local check=off "
        "check_port=9102\n"
        "server = c localhost:9003 backup state=drain\n"
        "server = d localhost:9004 state=maint\n"
        "timeout_queue = 0s\n"
        "retry_on_timeout = no\n");
    assert_int_equal(c->global.workers, 4);
    assert_int_equal(c->global.log_level, CONF_LOG_DEBUG);
    assert_string_equal(c->global.access_log, "off");
    snprintf(want, sizeof(want), "%s/logs/error.log", dir);
    assert_string_equal(c->global.error_log, want);
    assert_int_equal(c->global.grace_ms, 60000);

    f = &c->frontends[0];
    assert_int_equal(f->bind_count, 3);
    assert_int_equal(f->binds[0].ss.ss_family, AF_INET);
    assert_int_equal(f->binds[1].ss.ss_family, AF_INET6);
    assert_int_equal(f->binds[1].len, sizeof(struct sockaddr_in6));
    assert_int_equal(port_of(&f->binds[1]), 8080);
    assert_string_equal(f->binds[1].text, "[::1]:8080");
    assert_true(
        IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&f->binds[1].ss)->sin6_addr));
    assert_int_equal(((struct sockaddr_in *)&f->binds[2].ss)->sin_addr.s_addr,
                     INADDR_ANY);
    assert_int_equal(f->cert_count, 2);
    snprintf(want, sizeof(want), "%s/cert.pem", dir);
    assert_string_equal(f->certs[0].cert_file, want);
    assert_string_equal(f->certs[1].cert_file, want);
    snprintf(want, sizeof(want), "%s/key.pem", dir);
    assert_string_equal(f->certs[0].key_file, want);
    assert_string_equal(f->certs[1].key_file, want);
    assert_int_equal(f->certs[0].line, 12);
    assert_int_equal(f->timeout_client_ms, 3600000);
    assert_int_equal(f->timeout_http_request_ms, 500);
    assert_int_equal(f->timeout_tunnel_ms, 90000);
    assert_int_equal(f->max_body_bytes, 1ull << 30);
    assert_int_equal(f->max_header_bytes, 16384);

    p = &c->pools[0];
    assert_int_equal(p->balance, CONF_BALANCE_MAGLEV);
    assert_int_equal(p->hash_key, CONF_HASH_HEADER);
    assert_string_equal(p->hash_key_name, "X-User");
    assert_true(p->balance_factor == 1.5);
    assert_int_equal(p->maglev_table_size, 1009);
    assert_int_equal(p->health, CONF_HEALTH_HTTPS);
    assert_int_equal(p->health_expect_count, 3);
    assert_int_equal(p->retry_status_count, 0);
    assert_int_equal(p->health_expect_lo[1], 204);
    assert_int_equal(p->health_expect_hi[1], 204);
    assert_int_equal(p->health_expect_lo[2], 300);
    assert_int_equal(p->health_expect_hi[2], 399);
    assert_int_equal(p->health_interval_ms, 2000);
    assert_int_equal(p->health_fast_interval_ms, 100);
    assert_int_equal(p->timeout_queue_ms, 0);
    assert_false(p->retry_on_timeout);
    assert_int_equal(p->server_count, 4);
    s = &p->servers[0];
    assert_int_equal(s->weight, 0);
    assert_int_equal(s->slowstart_ms, 30000);
    assert_int_equal(s->max_conns, 100);
    assert_false(s->backup);
    s = &p->servers[1];
    assert_int_equal(s->addr.ss.ss_family, AF_INET6);
    assert_int_equal(port_of(&s->addr), 9002);
    assert_true(s->tls);
    assert_false(s->tls_verify);
    snprintf(want, sizeof(want), "%s/cert.pem", dir);
    assert_string_equal(s->tls_ca_file, want);
    assert_string_equal(s->tls_sni, "api.local");
    assert_false(s->check);
    assert_int_equal(s->check_port, 9102);
    s = &p->servers[2];
    assert_true(s->backup);
    assert_int_equal(port_of(&s->addr), 9003); /* localhost, resolved */
    assert_int_equal(s->state, CONF_SERVER_DRAIN);
    assert_int_equal(p->servers[3].state, CONF_SERVER_MAINT);
    assert_string_equal(conf_balance_name(p->balance), "maglev");
    conf_free(c);
}

/* timeout_queue = 0s (no queue) needs no server with maxconn: a reload that
 * drops the last maxconn is not refused for it. */
static void test_conf_no_queue_without_maxconn(void **state)
{
    struct conf *c;
    (void)state;
    c = load_ok(BASE "timeout_queue = 0s\n");
    assert_int_equal(c->pools[0].timeout_queue_ms, 0);
    conf_free(c);
}

static void test_conf_parses_cluster_and_admin(void **state)
{
    struct conf *c;
    char want[256];

    (void)state;
    c = load_ok(BASE
                "[cluster]\nnode_id = n2\nbind = *:7002\n"
                "peers = n1@127.0.0.1:7001, n2@127.0.0.1:7002\n"
                "peers = n3@localhost:7003\n"
                "data_dir = data/n2\nsecret_file = secret\n"
                "heartbeat_interval = 20ms\nelection_timeout = 1s\n"
                "vip = 127.0.0.10/8 dev lo\non_leader = hook.sh\non_follower = hook.sh\n"
                "[admin]\nbind = [::1]:9100\ntoken_file = token\n");
    assert_true(c->cluster.enabled);
    assert_string_equal(c->cluster.node_id, "n2");
    assert_int_equal(c->cluster.peer_count, 3);
    assert_string_equal(c->cluster.peers[2].id, "n3");
    assert_int_equal(port_of(&c->cluster.peers[2].addr), 7003);
    snprintf(want, sizeof(want), "%s/data/n2", dir);
    assert_string_equal(c->cluster.data_dir, want);
    assert_int_equal(c->cluster.heartbeat_interval_ms, 20);
    assert_int_equal(c->cluster.election_timeout_ms, 1000);
    assert_string_equal(c->cluster.vip, "127.0.0.10/8 dev lo");
    snprintf(want, sizeof(want), "%s/hook.sh", dir);
    assert_string_equal(c->cluster.on_leader, want);
    assert_int_equal(c->cluster.line, 6);
    assert_true(c->admin.enabled);
    assert_int_equal(port_of(&c->admin.bind), 9100);
    snprintf(want, sizeof(want), "%s/token", dir);
    assert_string_equal(c->admin.token_file, want);
    conf_free(c);
}

static void test_conf_example_files_are_valid(void **state)
{
    static const char *const files[] = {"raftlb.ini", "standalone.ini", "cluster-n1.ini",
                                        "cluster-n2.ini", "cluster-n3.ini"};
    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[512];
        struct conf *c = NULL;
        struct conf_diag diag = {0};

        snprintf(p, sizeof(p), "%s/%s", CONF_EXAMPLE_DIR, files[i]);
        if (conf_load(p, &c, &diag) != 0) {
            for (size_t j = 0; j < diag.count; j++)
                print_error("  %s\n", diag.msgs[j]);
            conf_diag_free(&diag);
            fail_msg("%s is not valid", p);
        }
        assert_int_equal(diag.count, 0);
        if (strcmp(files[i], "standalone.ini") == 0) {
            /* contrib/demo.sh prints these ports */
            assert_int_equal(c->frontend_count, 4);
            assert_int_equal(c->frontends[0].mode, CONF_MODE_HTTP);
            assert_int_equal(port_of(&c->frontends[0].binds[0]), 8080);
            assert_int_equal(c->frontends[1].mode, CONF_MODE_HTTP);
            assert_int_equal(port_of(&c->frontends[1].binds[0]), 8443);
            assert_int_equal(c->frontends[1].cert_count, 1);
            assert_int_equal(c->frontends[2].mode, CONF_MODE_TCP);
            assert_int_equal(port_of(&c->frontends[2].binds[0]), 8081);
            assert_int_equal(port_of(&c->frontends[3].binds[0]), 8082);
            assert_int_equal(c->pools[0].server_count, 3);
            assert_int_equal(c->pools[1].server_count, 3);
            assert_false(c->cluster.enabled);
        }
        if (strncmp(files[i], "cluster-n", 9) == 0) {
            int n = files[i][9] - '0';
            assert_int_equal(port_of(&c->frontends[0].binds[0]), 8080 + n);
            assert_int_equal(port_of(&c->cluster.bind), 7000 + n);
            assert_int_equal(port_of(&c->admin.bind), 9100 + n);
            assert_int_equal(c->cluster.peer_count, 3);
        }
        conf_free(c);
    }
}

/* The example must show every key conf_load accepts: each key of the schema is
 * looked for at the start of a line of conf/raftlb.ini. */
static void test_conf_example_shows_every_key(void **state)
{
    static const char *const keys[] = {"workers",
                                       "max_connections",
                                       "poll_batch_us",
                                       "log_level",
                                       "error_log",
                                       "access_log",
                                       "grace",
                                       "pid_file",
                                       "bind",
                                       "mode",
                                       "pool",
                                       "tls_cert",
                                       "tls_key",
                                       "tls_ciphers",
                                       "tls_min_version",
                                       "timeout_client",
                                       "timeout_http_request",
                                       "timeout_http_keepalive",
                                       "timeout_tunnel",
                                       "timeout_tls_handshake",
                                       "tls_session_cache",
                                       "max_keepalive_requests",
                                       "max_body_bytes",
                                       "max_header_bytes",
                                       "max_headers",
                                       "balance",
                                       "hash_key",
                                       "balance_factor",
                                       "maglev_table_size",
                                       "ring_points",
                                       "retries",
                                       "retry_on_status",
                                       "timeout_connect",
                                       "timeout_server",
                                       "timeout_server_idle",
                                       "health",
                                       "health_method",
                                       "health_path",
                                       "health_host",
                                       "health_body",
                                       "health_expect",
                                       "health_interval",
                                       "health_fast_interval",
                                       "health_timeout",
                                       "rise",
                                       "fall",
                                       "eject_after",
                                       "eject_time",
                                       "max_ejected_percent",
                                       "server",
                                       "node_id",
                                       "peers",
                                       "data_dir",
                                       "secret_file",
                                       "heartbeat_interval",
                                       "election_timeout",
                                       "vip",
                                       "on_leader",
                                       "on_follower",
                                       "token_file"};
    static const char *const options[] = {"weight=", "slowstart=",  "maxconn=", " backup",
                                          "check=",  "check_port=", " tls",     "verify=",
                                          "ca=",     "sni=",        "state="};
    char p[512], line[512];
    bool seen[sizeof(keys) / sizeof(keys[0])] = {false};
    bool opt_seen[sizeof(options) / sizeof(options[0])] = {false};
    FILE *f;

    (void)state;
    snprintf(p, sizeof(p), "%s/raftlb.ini", CONF_EXAMPLE_DIR);
    f = fopen(p, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            size_t n = strlen(keys[i]);
            if (strncmp(line, keys[i], n) == 0 && (line[n] == ' ' || line[n] == '='))
                seen[i] = true;
        }
        if (strncmp(line, "server =", 8) == 0)
            for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
                if (strstr(line, options[i]) != NULL)
                    opt_seen[i] = true;
    }
    fclose(f);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!seen[i])
            fail_msg("conf/raftlb.ini does not show '%s'", keys[i]);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (!opt_seen[i])
            fail_msg("conf/raftlb.ini does not show server option '%s'", options[i]);
}

/* Runs many loads, good and bad, so that LeakSanitizer (sanitizer build) or valgrind
 * sees any allocation conf_free() or conf_diag_free() misses. */
static void test_conf_load_and_free_do_not_leak(void **state)
{
    char p[512];

    (void)state;
    snprintf(p, sizeof(p), "%s/raftlb.ini", CONF_EXAMPLE_DIR);
    for (int round = 0; round < 20; round++) {
        struct conf *c = NULL;
        struct conf_diag diag = {0};

        assert_int_equal(conf_load(p, &c, &diag), 0);
        conf_free(c);
        conf_diag_free(&diag);
        write_file("t.ini", bad_cases[(size_t)round % 10].text, 0644);
        assert_int_equal(conf_load(path, &c, &diag), -1);
        assert_true(diag.count > 0);
        conf_diag_free(&diag);
        assert_int_equal(diag.count, 0);
    }
    conf_free(NULL);
    conf_diag_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_rejects_each_bad_input_with_exact_message),
        cmocka_unit_test(test_conf_missing_file_is_reported),
        cmocka_unit_test(test_conf_directory_is_not_a_configuration),
        cmocka_unit_test(test_conf_survives_garbage),
        cmocka_unit_test(test_conf_line_too_long_is_skipped_and_reported),
        cmocka_unit_test(test_conf_reports_every_problem_in_file_order),
        cmocka_unit_test(test_conf_defaults_are_as_documented),
        cmocka_unit_test(test_conf_parses_values),
        cmocka_unit_test(test_conf_no_queue_without_maxconn),
        cmocka_unit_test(test_conf_parses_cluster_and_admin),
        cmocka_unit_test(test_conf_example_files_are_valid),
        cmocka_unit_test(test_conf_example_shows_every_key),
        cmocka_unit_test(test_conf_load_and_free_do_not_leak),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
