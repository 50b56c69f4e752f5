/*
 * lb_key: pure helpers that find a request's hash key in bytes the HTTP parser has
 * already delimited (the runtime then calls lb_hash() on the result). The key
 * kinds are those of the pool's `hash_key`: source, uri, path, header:NAME,
 * cookie:NAME; source and header need no helper.
 *
 * Must not: allocate, copy (but for the one key lb_key_uri composes in the
 * caller's scratch), or accept anything past `len`.
 */
#ifndef RAFTLB_LB_KEY_H
#define RAFTLB_LB_KEY_H

#include <stddef.h>

/*
 * The value of cookie `name` in a Cookie header value `hdr` (RFC 6265 section
 * 4.2.1: "a=1; b=2"), tolerant of extra spaces and empty pairs; a value in
 * double quotes is returned without them. Names compare exactly. Returns 0 and
 * points *val / *val_len into `hdr` (the value may be empty), or -1 when the
 * cookie is absent. The first occurrence wins.
 */
int lb_key_cookie(const char *hdr, size_t len, const char *name, size_t name_len,
                  const char **val, size_t *val_len);

/* The length of the path of an origin-form request target ("/a/b?q=1" -> 4): up
 * to the first '?' or '#'. The `uri` key is the whole target up to any '#'. */
size_t lb_key_path_len(const char *target, size_t len);
size_t lb_key_uri_len(const char *target, size_t len);

/*
 * The `path` and `uri` keys of any request target, as the server will see it.
 * An absolute-form target ("http://host/a?b", RFC 9112 section 3.2.2) is
 * forwarded as origin-form ("/a?b"), so its key is that of the origin-form:
 * "GET /a" and "GET http://host/a" hash the same. Any other target (origin-form,
 * "*") gets exactly the key lb_key_path_len / lb_key_uri_len give it.
 *
 * Both return the key's length and set *key. It points into `target`, except
 * for an absolute-form target with an empty path, which stands for "/" (RFC 9112
 * section 3.2.1, RFC 3986 section 6.2.3): the path key and the uri key without a
 * query are then a constant "/". The uri key with a query ("http://h?x" ->
 * "/?x") is the one key not found in `target`: it is written to scratch[0,
 * scratch_cap) when it fits (scratch_cap > len always does), else *key is the
 * query alone ("?x"), a stable key that differs from that of "GET /?x".
 */
size_t lb_key_path(const char *target, size_t len, const char **key);
size_t lb_key_uri(const char *target, size_t len, char *scratch, size_t scratch_cap,
                  const char **key);

#endif
