/*
 * conf_names: the spellings of the configuration enumerations, indexed by value
 * (the name functions themselves are declared in conf.h).
 */
#ifndef RAFTLB_CONF_NAMES_H
#define RAFTLB_CONF_NAMES_H

#include "conf/conf.h"

extern const char *const conf_balance_names[CONF_BALANCE_COUNT];
extern const char *const conf_mode_names[CONF_MODE_COUNT];
extern const char *const conf_health_names[CONF_HEALTH_COUNT];
extern const char *const conf_log_level_names[CONF_LOG_COUNT];
extern const char *const conf_hash_key_names[CONF_HASH_COUNT];

#endif
