/*
 * lb_key: pure helpers that find a request's hash key in bytes the HTTP parser has
 * already delimited (the runtime then calls lb_hash() on the result). The key
 * kinds are those of the pool's `hash_key`: source, uri, path, header:NAME,
 * cookie:NAME; source and header need no helper.
 *
 * Must not: allocate, copy, or accept anything past `len`.
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

#endif
