/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: one SSH connection as remote/ssh.c, sshhostkey.c and sshauth.c
 * share it (private to remote/).
 */
#pragma once

#include <glib.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "proxy.h"
#include "ssh.h"

/* libssh 0.10 has no autoptr support: wrap its types for g_autoptr() */
typedef struct ssh_key_struct QmSshKey;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshKey, ssh_key_free)

/**
 * QmSshConn - one qm_ssh_run() call: libssh objects and what came back
 * @dest:         destination as the user wrote it, first word of messages
 * @start:        g_get_monotonic_time() when the call began
 * @deadline:     g_get_monotonic_time() by which everything must be over
 * @session:      the libssh session
 * @event:        event polling @session's socket while we wait
 * @in_event:     @session's socket is attached to @event
 * @channel:      the exec channel, once created
 * @callbacks:    session callbacks (passphrase refusal)
 * @channel_cb:   channel callbacks feeding the fields below
 * @out:          stdout collected so far
 * @err:          head of stderr collected so far
 * @max_out:      bound for @out
 * @overflow:     the command wrote more than @max_out bytes to stdout
 * @eof:          the command closed its output
 * @closed:       the server closed the channel
 * @exited:       the server reported an exit status or signal
 * @exit_status:  exit status, -1 if none (yet)
 * @abandoning:   conn_abandon() runs: waits ignore interruptions
 * @fd:           the socket qemu-mig connected and libssh borrows, or -1
 * @cfg:          what ssh_config says for @dest
 * @own_cfg:      @cfg when this call evaluated it (freed with the call)
 * @proxy:        the ProxyCommand or ProxyJump we run to reach the peer
 * @locked_keys:  how many passphrase-protected keys libssh had to skip
 */
typedef struct {
    const char *dest;
    gint64 start;
    gint64 deadline;
    ssh_session session;
    ssh_event event;
    gboolean in_event;
    ssh_channel channel;
    struct ssh_callbacks_struct callbacks;
    struct ssh_channel_callbacks_struct channel_cb;
    GByteArray *out;
    GString *err;
    gsize max_out;
    gboolean overflow;
    gboolean eof;
    gboolean closed;
    gboolean exited;
    int exit_status;
    gboolean abandoning;
    int fd;
    const QmSshConfig *cfg;
    QmSshConfig *own_cfg;
    QmProxy *proxy;
    guint locked_keys;
} QmSshConn;

void qm_ssh_conn_free(QmSshConn *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshConn, qm_ssh_conn_free)

QmSshConn *qm_ssh_conn_open(const char *dest, const QmSshOptions *options,
                            gint64 deadline, GError **error);
gboolean qm_ssh_conn_wait(QmSshConn *c, const char *what, GError **error);
gboolean qm_ssh_conn_fail(const QmSshConn *c, const char *what, GError **error);
double qm_ssh_conn_elapsed_s(const QmSshConn *c);
char *qm_ssh_conn_one_line(const char *msg);
