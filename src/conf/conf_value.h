/*
 * conf_value: parsing of single configuration values (durations, sizes, booleans,
 * whole numbers, status ranges) and the spelling helpers of the diagnostics.
 *
 * Pure: no file, socket or allocation. Each parser takes the text of one value
 * (already trimmed by the INI reader) and returns 0 with the result, or -1 with a
 * message in `err` that says what was expected and what was found. The caller
 * prefixes it with "FILE:LINE: key: ".
 */
#ifndef RAFTLB_CONF_VALUE_H
#define RAFTLB_CONF_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "500ms", "2s", "1m", "1h" -> milliseconds. A bare number is an error (it is
 * ambiguous: HAProxy reads it as ms, NGINX as s), except "0". The result must lie in
 * [min_ms, max_ms]. */
int conf_value_duration(const char *s, uint32_t min_ms, uint32_t max_ms, uint32_t *out,
                        char *err, size_t errlen);

/* "512", "16k", "1m", "1g" (1024-based, case-insensitive) -> bytes in [min, max]. */
int conf_value_size(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                    size_t errlen);

/* on/off, yes/no, true/false, 1/0 (case-insensitive). */
int conf_value_bool(const char *s, bool *out, char *err, size_t errlen);

/* A decimal whole number in [min, max]. */
int conf_value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                    size_t errlen);

/* A decimal number such as "1.25" in [min, max]. */
int conf_value_double(const char *s, double min, double max, double *out, char *err,
                      size_t errlen);

/* "200-399" or "200,204,300-399": up to `cap` inclusive ranges of HTTP status codes
 * (100..599), each lo <= hi. Stores them in lo[]/hi[] and their number in *count. */
int conf_value_status_ranges(const char *s, uint16_t *lo, uint16_t *hi, size_t cap,
                             size_t *count, char *err, size_t errlen);

/* One of `names[0..n-1]` (exact, case-sensitive) -> its index. The message lists the
 * accepted names and suggests the nearest one. */
int conf_value_enum(const char *s, const char *const *names, size_t n, int *out,
                    char *err, size_t errlen);

/* A name of a section, server or peer: 1..max_len-1 characters of [A-Za-z0-9_.-]. */
int conf_value_name(const char *s, size_t max_len, char *err, size_t errlen);

/* Edit distance of two short strings (first 255 characters of each), counting an
 * insertion, deletion, substitution or swap of two neighbours as 1. */
unsigned conf_value_edit_distance(const char *a, const char *b);

/* The candidate nearest to `s` when it is a plausible misspelling (distance 1 for
 * words up to 4 characters, 2 above), else NULL. `s` without letters gets none. */
const char *conf_value_suggest(const char *s, const char *const *candidates, size_t n);

bool conf_value_is_prime(uint64_t n);

/* Writes a duration in the largest exact unit ("90s", "500ms", "1h") into buf. */
void conf_value_format_duration(uint32_t ms, char *buf, size_t len);

/* Writes a size in the largest exact 1024-based unit ("64k", "1m", "100"). */
void conf_value_format_size(uint64_t bytes, char *buf, size_t len);

#endif
