/*
 * raft_configuration: cluster membership (dissertation chapter 4). The payload
 * codec of configuration entries, the lookup helpers, and single-server changes:
 * one server added, promoted, demoted or removed at a time, and only once the
 * previous change is committed.
 */
#include "raft/raft_internal.h"

#include <stdio.h>
#include <string.h>

#define ERRF(...)                                                                        \
    do {                                                                                 \
        if (err != NULL && errlen > 0)                                                   \
            snprintf(err, errlen, __VA_ARGS__);                                          \
    } while (0)

size_t raft_configuration_encoded_len(const struct raft_configuration *c)
{
    return 4 + (size_t)c->n_servers * 9;
}

int raft_configuration_encode(const struct raft_configuration *c, uint8_t *buf,
                              size_t cap)
{
    size_t need = raft_configuration_encoded_len(c);
    if (c->n_servers > RAFT_CONFIGURATION_MAX || cap < need)
        return RAFT_EINVAL;
    uint8_t *p = buf;
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(c->n_servers >> (8 * i));
    for (uint32_t s = 0; s < c->n_servers; s++) {
        for (int i = 0; i < 8; i++)
            *p++ = (uint8_t)(c->servers[s].id >> (8 * i));
        *p++ = (uint8_t)c->servers[s].role;
    }
    return (int)need;
}

int raft_configuration_decode(struct raft_configuration *c, const uint8_t *buf,
                              size_t len, char *err, size_t errlen)
{
    uint32_t n = 0;
    if (len < 4) {
        ERRF("configuration: %zu bytes, need at least 4", len);
        return RAFT_ECORRUPT;
    }
    for (int i = 0; i < 4; i++)
        n |= (uint32_t)buf[i] << (8 * i);
    if (n > RAFT_CONFIGURATION_MAX || len != 4 + (size_t)n * 9) {
        ERRF("configuration: %u servers in %zu bytes", n, len);
        return RAFT_ECORRUPT;
    }
    memset(c, 0, sizeof(*c));
    const uint8_t *p = buf + 4;
    for (uint32_t s = 0; s < n; s++) {
        uint64_t id = 0;
        for (int i = 0; i < 8; i++)
            id |= (uint64_t)p[i] << (8 * i);
        uint8_t role = p[8];
        p += 9;
        if (id == 0 || role >= RAFT_SERVER_ROLE_COUNT || raft_conf_get(c, id) != NULL) {
            ERRF("configuration: server %u has id 0, an unknown role or a duplicate id",
                 s);
            return RAFT_ECORRUPT;
        }
        c->servers[s].id = id;
        c->servers[s].role = (enum raft_server_role)role;
        c->n_servers = s + 1;
    }
    return 0;
}

bool raft_conf_valid(const struct raft_configuration *c)
{
    if (c->n_servers == 0 || c->n_servers > RAFT_CONFIGURATION_MAX)
        return false;
    for (uint32_t i = 0; i < c->n_servers; i++) {
        if (c->servers[i].id == 0 || c->servers[i].role >= RAFT_SERVER_ROLE_COUNT)
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (c->servers[j].id == c->servers[i].id)
                return false;
    }
    return raft_conf_n_voters(c) > 0;
}

const struct raft_server *raft_conf_get(const struct raft_configuration *c, uint64_t id)
{
    for (uint32_t i = 0; i < c->n_servers; i++)
        if (c->servers[i].id == id)
            return &c->servers[i];
    return NULL;
}

bool raft_conf_is_voter(const struct raft_configuration *c, uint64_t id)
{
    const struct raft_server *s = raft_conf_get(c, id);
    return s != NULL && s->role == RAFT_VOTER;
}

uint32_t raft_conf_n_voters(const struct raft_configuration *c)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n_servers; i++)
        n += c->servers[i].role == RAFT_VOTER;
    return n;
}

int raft_conf_at(const struct raft *r, uint64_t index, struct raft_configuration *c,
                 uint64_t *conf_index)
{
    if (index > raft_log_last_index(&r->log))
        index = raft_log_last_index(&r->log);
    for (uint64_t i = index; i > r->log.offset; i--) {
        const struct raft_entry *e = raft_log_get(&r->log, i);
        if (e->type == RAFT_ENTRY_CONFIG) {
            struct raft_configuration tmp;
            if (raft_configuration_decode(&tmp, e->payload, e->payload_len, NULL, 0) !=
                    0 ||
                !raft_conf_valid(&tmp))
                return RAFT_ECORRUPT; /* *c is left unchanged */
            *c = tmp;
            *conf_index = i;
            return 0;
        }
    }
    *c = r->snap_meta.conf;
    *conf_index = r->snap_meta.conf_index;
    return 0;
}

/* §4.1: "a server always uses the latest configuration in its log, regardless of
 * whether the entry is committed"; truncating it rolls back to the previous one. */
int raft_conf_rebuild(struct raft *r)
{
    int rv = raft_conf_at(r, raft_log_last_index(&r->log), &r->conf, &r->conf_index);
    if (rv == 0 && r->role == RAFT_LEADER)
        raft_membership_sync_progress(r);
    return rv;
}

/* Keeps one progress per server of the configuration in force, preserving what
 * is known about servers that stay. */
void raft_membership_sync_progress(struct raft *r)
{
    struct raft_progress old[RAFT_CONFIGURATION_MAX];
    uint32_t n_old = r->n_progress;
    memcpy(old, r->progress, sizeof(old[0]) * n_old);
    r->n_progress = 0;
    for (uint32_t i = 0; i < r->conf.n_servers; i++) {
        uint64_t id = r->conf.servers[i].id;
        struct raft_progress *p = &r->progress[r->n_progress++];
        bool found = false;
        for (uint32_t j = 0; j < n_old; j++) {
            if (old[j].id == id) {
                *p = old[j];
                found = true;
                break;
            }
        }
        if (!found) {
            raft_progress_reset(p, id, raft_log_last_index(&r->log) + 1);
            p->recent_active = true;
            if (id == r->opts.id)
                p->match_index = r->persisted_index;
        }
    }
}

/* §4.2.2: once a configuration that removes the leader is committed, it steps
 * down. Called whenever the commit index advances on a leader. */
void raft_membership_committed(struct raft *r)
{
    if (r->role == RAFT_LEADER && r->conf_index <= r->commit_index &&
        !raft_conf_is_voter(&r->conf, r->opts.id))
        raft_become_follower(r, r->term, 0);
}

/* Chapter 4 single-server change. Preconditions checked (and refused with an
 * error, not asserted): leader; no uncommitted configuration (§4.1, one at a
 * time); an entry of the current term committed (the fix of §4.1's safety bug
 * noted in the dissertation errata); no transfer in progress. */
int raft_membership_change(struct raft *r, enum raft_change_op op, uint64_t id, char *err,
                           size_t errlen)
{
    struct raft_configuration next = r->conf;
    uint8_t buf[4 + RAFT_CONFIGURATION_MAX * 9];

    if (r->role != RAFT_LEADER) {
        ERRF("raft: not the leader");
        return RAFT_ENOTLEADER;
    }
    if (id == 0 || op >= RAFT_CHANGE_OP_COUNT) {
        ERRF("raft: invalid membership change");
        return RAFT_EINVAL;
    }
    if (r->conf_index > r->commit_index || r->transfer_to != 0 ||
        raft_log_term_at(&r->log, r->commit_index) != r->term) {
        ERRF("raft: a membership change or transfer is in progress");
        return RAFT_EBUSY;
    }
    struct raft_server *s = NULL;
    for (uint32_t i = 0; i < next.n_servers; i++)
        if (next.servers[i].id == id)
            s = &next.servers[i];
    switch (op) {
    case RAFT_CHANGE_ADD_LEARNER:
        if (s != NULL) {
            ERRF("raft: server %llu is already a member", (unsigned long long)id);
            return RAFT_EINVAL;
        }
        if (next.n_servers == RAFT_CONFIGURATION_MAX) {
            ERRF("raft: configuration is full (%d servers)", RAFT_CONFIGURATION_MAX);
            return RAFT_EINVAL;
        }
        next.servers[next.n_servers].id = id;
        next.servers[next.n_servers].role = RAFT_LEARNER;
        next.n_servers++;
        break;
    case RAFT_CHANGE_ADD_VOTER:
        if (s == NULL) {
            if (next.n_servers == RAFT_CONFIGURATION_MAX) {
                ERRF("raft: configuration is full");
                return RAFT_EINVAL;
            }
            s = &next.servers[next.n_servers++];
            s->id = id;
        } else if (s->role == RAFT_VOTER) {
            ERRF("raft: server %llu is already a voter", (unsigned long long)id);
            return RAFT_EINVAL;
        }
        s->role = RAFT_VOTER;
        break;
    case RAFT_CHANGE_DEMOTE:
        if (s == NULL || s->role != RAFT_VOTER) {
            ERRF("raft: server %llu is not a voter", (unsigned long long)id);
            return RAFT_ENOTFOUND;
        }
        s->role = RAFT_LEARNER;
        break;
    case RAFT_CHANGE_REMOVE:
        if (s == NULL) {
            ERRF("raft: server %llu is not a member", (unsigned long long)id);
            return RAFT_ENOTFOUND;
        }
        *s = next.servers[next.n_servers - 1];
        next.n_servers--;
        break;
    default:
        break;
    }
    if (raft_conf_n_voters(&next) == 0) {
        ERRF("raft: the change would leave no voter");
        return RAFT_EINVAL;
    }
    int len = raft_configuration_encode(&next, buf, sizeof(buf));
    if (len < 0) {
        ERRF("raft: cannot encode the configuration");
        return RAFT_EINVAL;
    }
    int rv = raft_append_local(r, RAFT_ENTRY_CONFIG, buf, (size_t)len);
    if (rv != 0) {
        ERRF("raft: out of memory");
        return rv;
    }
    raft_replicate_all(r, false);
    return 0;
}
