/*
 * conf_names: printable names of the configuration enumerations. They are the
 * spellings the configuration file accepts, so logs and the admin API show what
 * the user wrote.
 */
#include "conf/conf.h"
#include "conf/conf_names.h"

const char *const conf_balance_names[CONF_BALANCE_COUNT] = {"roundrobin", "leastconn",
                                                            "random2", "ring", "maglev"};
const char *const conf_mode_names[CONF_MODE_COUNT] = {"http", "tcp"};
const char *const conf_health_names[CONF_HEALTH_COUNT] = {"none", "tcp", "http", "https"};
const char *const conf_log_level_names[CONF_LOG_COUNT] = {"error", "warn", "info",
                                                          "debug"};
const char *const conf_hash_key_names[CONF_HASH_COUNT] = {"source", "uri", "path",
                                                          "header", "cookie"};

const char *conf_balance_name(enum conf_balance b)
{
    return (unsigned)b < CONF_BALANCE_COUNT ? conf_balance_names[b] : "?";
}

const char *conf_mode_name(enum conf_mode m)
{
    return (unsigned)m < CONF_MODE_COUNT ? conf_mode_names[m] : "?";
}

const char *conf_health_name(enum conf_health h)
{
    return (unsigned)h < CONF_HEALTH_COUNT ? conf_health_names[h] : "?";
}

const char *conf_server_state_name(enum conf_server_state s)
{
    static const char *const names[CONF_SERVER_STATE_COUNT] = {"ready", "drain", "maint"};
    return (unsigned)s < CONF_SERVER_STATE_COUNT ? names[s] : "?";
}

const char *conf_log_level_name(enum conf_log_level l)
{
    return (unsigned)l < CONF_LOG_COUNT ? conf_log_level_names[l] : "?";
}

const char *conf_hash_key_name(enum conf_hash_key k)
{
    return (unsigned)k < CONF_HASH_COUNT ? conf_hash_key_names[k] : "?";
}
