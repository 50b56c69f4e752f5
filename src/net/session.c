/*
 * session: the table of session types by frontend mode.
 */
#include "config.h"

#include "net/session.h"
#include "net/http_session.h"
#include "net/tcp_session.h"

const struct session_ops *session_ops_for_mode(enum conf_mode mode)
{
    switch (mode) {
    case CONF_MODE_TCP:
        return &tcp_session_ops;
    case CONF_MODE_HTTP:
        return &http_session_ops;
    case CONF_MODE_COUNT:
        break;
    }
    return NULL;
}
