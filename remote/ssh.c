/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: running one command on a peer over one libssh exec channel.
 *
 * The session runs non-blocking from the first ssh_connect() call to the
 * last byte of output, and every wait goes through one ssh_event polled
 * with the time left until the caller's deadline.  libssh's own blocking
 * timeouts apply per round trip, not per call, so a peer answering each
 * step just in time could otherwise hold a caller far past its deadline.
 * Name resolution and the TCP connection are ours (remote/tcp.c), within
 * the same deadline; only ssh-agent requests still block inside libssh
 * without a bound.  The host key check (sshhostkey.c) and authentication
 * (sshauth.c) have files of their own, and share the connection and its
 * waits with this one through sshconn.h.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "proxy.h"
#include "ssh.h"
#include "sshauth.h"
#include "sshconfig.h"
#include "sshconn.h"
#include "sshhostkey.h"
#include "tcp.h"
#include "../wrapper/error.h"
#include "../wrapper/interrupt.h"

/* Remote stderr only ever ends up in a diagnostic: keep its head */
#define QM_SSH_ERR_MAX (64 * 1024)

/* Upper bound for one ssh_channel_write(), which takes a uint32_t */
#define QM_SSH_WRITE_CHUNK (1024 * 1024)

/* Longest a send() may block the loop that watches the deadline */
#define QM_SSH_SEND_TIMEOUT_US (100 * 1000)

/*
 * The remote shell announces its PID, which is the session's process
 * group (sshd makes every session a setsid() leader) and, after exec, the
 * command's own PID, first thing on stderr.
 */
#define QM_SSH_PGID_TAG "qemu-mig-pgid="

/* Most time spent making sure an abandoned command is gone */
#define QM_SSH_ABANDON_US (2 * G_USEC_PER_SEC)

/**
 * stderr_pgid() - the process group the remote shell announced
 * @err:   stderr collected so far
 * @start: where to store the offset of the announcing line, or NULL
 * @len:   where to store its length with the newline, or NULL
 *
 * The announcement is a line of its own, but not always the first: the
 * remote user's startup files (~/.bashrc, ~/.ssh/rc) may print before it.
 * The peer can write anything there: only a whole line of the tag and a
 * plain decimal number between 2 and the kernel's largest PID_MAX_LIMIT
 * counts, the first such line, so that nothing but the peer's own session
 * can ever be the target.
 *
 * Return: the process group, 0 if none was announced
 */
static guint64 stderr_pgid(const GString *err, gsize *start, gsize *len)
{
    const char *line = err->str;
    const char *nl;

    for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        const char *p = line + strlen(QM_SSH_PGID_TAG);
        guint64 pgid;

        if (!g_str_has_prefix(line, QM_SSH_PGID_TAG) || nl == p || nl - p > 7)
            continue;
        if (strspn(p, "0123456789") != (gsize)(nl - p))
            continue;
        pgid = g_ascii_strtoull(p, NULL, 10);
        if (pgid < 2 || pgid > 4194304)
            continue;
        if (start != NULL)
            *start = line - err->str;
        if (len != NULL)
            *len = nl + 1 - line;
        return pgid;
    }
    return 0;
}

/**
 * conn_abandon() - make sure a command we give up on does not outlive us
 * @c: connection whose command still runs
 *
 * sshd closes a finished session's pipes but signals nothing, and a hung
 * or paused QEMU never reads them.  First a "signal" request: sshd
 * (OpenSSH 7.9+) killpg()s the session for it - except root sessions of
 * an sshd without the sshd-session split, which refuse it ("session
 * signalling requires privilege separation").  So then, on a second
 * channel, the remote user's own kill(1) on the process group the shell
 * announced, which works for root too.  All of it within
 * QM_SSH_ABANDON_US, whatever the first deadline was, and deaf to further
 * interruptions: this is what an interruption is for.
 */
static void conn_abandon(QmSshConn *c)
{
    guint64 pgid = stderr_pgid(c->err, NULL, NULL);
    g_autoptr(GError) ignored = NULL;
    g_autofree char *kill_cmd = NULL;
    ssh_channel kill_ch;
    int rc;

    c->abandoning = TRUE;
    c->deadline = g_get_monotonic_time() + QM_SSH_ABANDON_US;
    ssh_set_blocking(c->session, 0);
    ssh_channel_request_send_signal(c->channel, "KILL");
    if (pgid != 0 && (kill_ch = ssh_channel_new(c->session)) != NULL) {
        kill_cmd = g_strdup_printf("kill -9 -%" G_GUINT64_FORMAT, pgid);
        while ((rc = ssh_channel_open_session(kill_ch)) == SSH_AGAIN &&
               qm_ssh_conn_wait(c, "", &ignored))
            ;
        if (rc == SSH_OK) {
            while ((rc = ssh_channel_request_exec(kill_ch, kill_cmd)) ==
                       SSH_AGAIN &&
                   qm_ssh_conn_wait(c, "", &ignored))
                ;
        }
        /* kill(1) has run once its channel is done */
        while (rc == SSH_OK && !ssh_channel_is_eof(kill_ch) &&
               !ssh_channel_is_closed(kill_ch) &&
               qm_ssh_conn_wait(c, "", &ignored))
            ;
        ssh_channel_free(kill_ch);
    }
    ssh_blocking_flush(c->session, (int)(QM_SSH_SEND_TIMEOUT_US / 1000));
}

/**
 * qm_ssh_conn_free() - tear down a connection, on every path out of
 *                      qm_ssh_run() and of a forward
 * @c: connection, may be NULL
 *
 * The order matters: the channel belongs to the session, and the session's
 * socket must go back to the session's own poll context before the event
 * that borrowed it is freed.
 */
void qm_ssh_conn_free(QmSshConn *c)
{
    if (c == NULL)
        return;
    if (c->channel != NULL && !c->exited && !c->closed &&
        ssh_channel_is_open(c->channel))
        conn_abandon(c);
    if (c->channel != NULL)
        ssh_channel_free(c->channel);
    if (c->event != NULL) {
        if (c->in_event)
            ssh_event_remove_session(c->event, c->session);
        ssh_event_free(c->event);
    }
    if (c->session != NULL) {
        /*
         * libssh 0.10 leaves a socket given with SSH_OPTIONS_FD open on
         * ssh_disconnect(), but closes it (and forgets it) on some
         * connection errors: close it only if libssh still holds it, or
         * another thread's new fd of the same number could go.
         */
        gboolean ours_open = c->fd >= 0 && ssh_get_fd(c->session) == c->fd;

        ssh_disconnect(c->session);
        ssh_free(c->session);
        if (ours_open)
            close(c->fd);
    }
    /* after the socket is closed: the proxy sees EOF and ends */
    qm_proxy_free(c->proxy);
    qm_ssh_config_free(c->own_cfg);
    if (c->out != NULL)
        g_byte_array_unref(c->out);
    if (c->err != NULL)
        g_string_free(c->err, TRUE);
    g_free(c);
}
/**
 * qm_ssh_result_free() - free a result from qm_ssh_run()
 * @result: result, may be NULL
 */
void qm_ssh_result_free(QmSshResult *result)
{
    if (result == NULL)
        return;
    if (result->out != NULL)
        g_byte_array_unref(result->out);
    g_free(result->err);
    g_free(result);
}

/**
 * log_to_glib() - libssh's logging callback: everything as GLib debug
 *                 messages of the "qemu-mig-libssh" domain
 * @priority: libssh's level
 * @function: where in libssh
 * @buffer:   the message
 * @userdata: unused
 *
 * Shown only on request (G_MESSAGES_DEBUG=qemu-mig-libssh), so that
 * stderr keeps its one "qemu-mig:" line per message.
 */
static void log_to_glib(int priority, const char *function, const char *buffer,
                        void *userdata)
{
    g_log("qemu-mig-libssh", G_LOG_LEVEL_DEBUG, "%s: %s", function, buffer);
}

/**
 * init_once() - GOnceFunc running ssh_init()
 * @data: unused
 *
 * Return: NULL
 */
static gpointer init_once(gpointer data)
{
    /*
     * One reference for the life of the process: ssh_init() counts its
     * callers, and nothing here ever calls ssh_finalize().
     */
    ssh_init();
    /* A LogLevel in ssh_config turns libssh's own logging on, hundreds
     * of lines on our (and QEMU's) stderr: it goes through GLib instead */
    ssh_set_log_callback(log_to_glib);
    return NULL;
}

/**
 * qm_ssh_init() - initialise libssh once per process; safe from any thread
 *
 * qm_ssh_run() calls it too, so calling it early is only a way to pay
 * libssh's (and its crypto library's) start-up cost up front.
 */
void qm_ssh_init(void)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, init_once, NULL);
}

/**
 * qm_ssh_conn_one_line() - make a libssh message fit in a one-line qemu-mig
 *                          message
 * @msg: message, may be NULL
 *
 * Return: newly allocated copy without control characters and without
 * trailing dots or blanks, "unknown error" if nothing is left
 */
char *qm_ssh_conn_one_line(const char *msg)
{
    g_autofree char *s = g_strdup(msg != NULL ? msg : "");
    gsize len;

    for (char *p = s; *p != '\0'; p++) {
        if (g_ascii_iscntrl(*p))
            *p = ' ';
    }
    g_strstrip(s);
    len = strlen(s);
    while (len > 0 && (s[len - 1] == '.' || s[len - 1] == ' '))
        s[--len] = '\0';
    if (len == 0)
        return g_strdup("unknown error");
    return g_steal_pointer(&s);
}

/**
 * qm_ssh_conn_elapsed_s() - seconds spent in this qm_ssh_run() call, for
 *                           messages
 * @c: connection
 *
 * Return: elapsed time in seconds
 */
double qm_ssh_conn_elapsed_s(const QmSshConn *c)
{
    return (g_get_monotonic_time() - c->start) / (double)G_USEC_PER_SEC;
}

/**
 * conn_timeout() - fail because the deadline passed
 * @c:     connection
 * @what:  when, completing "timed out after N s", e.g. "while connecting"
 * @error: set to a QM_ERROR_UNREACHABLE error
 *
 * Return: FALSE
 */
static gboolean conn_timeout(const QmSshConn *c, const char *what,
                             GError **error)
{
    g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                "%s: timed out after %.1f s %s", c->dest,
                qm_ssh_conn_elapsed_s(c), what);
    return FALSE;
}

/**
 * qm_ssh_conn_fail() - fail with libssh's own account of a session error
 * @c:     connection
 * @what:  what failed, e.g. "cannot open an SSH channel"
 * @error: set to a QM_ERROR_UNREACHABLE error
 *
 * Return: FALSE
 */
gboolean qm_ssh_conn_fail(const QmSshConn *c, const char *what, GError **error)
{
    g_autofree char *why = qm_ssh_conn_one_line(ssh_get_error(c->session));

    g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE, "%s: %s: %s", c->dest,
                what, why);
    return FALSE;
}

/**
 * qm_ssh_conn_wait() - wait for the session's socket, at most until the
 *                      deadline
 * @c:     connection
 * @what:  when, e.g. "while connecting", for messages
 * @error: set on timeout or when the connection is lost
 *
 * Polling through an ssh_event lets libssh read, decrypt and dispatch
 * whatever arrived, and flush what it queued, before we look at the
 * state again.
 *
 * Return: TRUE when something may have happened, FALSE with @error set
 */
gboolean qm_ssh_conn_wait(QmSshConn *c, const char *what, GError **error)
{
    if (!c->abandoning && !qm_interrupt_check(c->dest, error))
        return FALSE;
    if (g_get_monotonic_time() >= c->deadline)
        return conn_timeout(c, what, error);
    /* in slices, to notice an interruption soon */
    ssh_event_dopoll(c->event, qm_interrupt_poll_ms(c->deadline));

    /*
     * dopoll() also fails on EINTR, so judge by the session state: only a
     * lost connection is worth stopping for.
     */
    if (ssh_get_status(c->session) & (SSH_CLOSED | SSH_CLOSED_ERROR)) {
        g_autofree char *lost = g_strdup_printf("connection lost %s", what);

        return qm_ssh_conn_fail(c, lost, error);
    }
    return TRUE;
}

/**
 * conn_tune_socket() - make the session's socket safe for our threads and
 *                      our deadline
 * @c: connection whose first ssh_connect() call just returned
 *
 * Both sockets libssh may talk through are qemu-mig's own and made
 * close-on-exec (a direct connection's by remote/tcp.c, a ProxyCommand's
 * socketpair by remote/proxy.c); checking costs nothing and keeps it so
 * should libssh ever make one itself: qemu-mig probes the local QEMU from
 * another thread while peers are being asked, and that child must not
 * inherit (and so hold open, or talk on) a peer's connection.
 *
 * The socket is in blocking mode once connected, and libssh, after a
 * POLLOUT, hands everything it queued to one send(): up to a whole SSH
 * window of input.  Against a peer that stopped reading, that
 * send() would block until TCP gives up, far past the deadline.  A send
 * timeout makes it return what fit instead, which libssh handles like any
 * short write.  It cannot fail outright: POLLOUT means there was room.
 */
static void conn_tune_socket(const QmSshConn *c)
{
    const struct timeval send_timeout = {
        .tv_usec = QM_SSH_SEND_TIMEOUT_US,
    };
    socket_t fd = ssh_get_fd(c->session);
    int flags;

    if (fd == SSH_INVALID_SOCKET)
        return;
    flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    /* a TCP socket (tcp.c) or a ProxyCommand's socketpair (proxy.c) */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
               sizeof(send_timeout));
}

/**
 * conn_configure() - set every libssh option for the destination
 * @c:     connection with a fresh session and its evaluated config
 * @error: set on failure
 *
 * Only what ssh_config evaluated to (sshconfig.c): libssh never reads a
 * config file itself.
 *
 * Return: TRUE on success
 */
static gboolean conn_configure(QmSshConn *c, GError **error)
{
    ssh_session s = c->session;
    g_autofree char *ssh_dir = NULL;
    bool process_config = false;
    int strict = 1;
    int port = c->cfg->port;
    gint64 left;
    long timeout, timeout_usec;

    /* libssh's own default files (never used: we name every file) would
     * come from the passwd entry; $HOME is what the user controls */
    ssh_dir = g_build_filename(g_get_home_dir(), ".ssh", NULL);
    if (ssh_options_set(s, SSH_OPTIONS_SSH_DIR, ssh_dir) < 0 ||
        ssh_options_set(s, SSH_OPTIONS_HOST, c->cfg->hostname) < 0 ||
        ssh_options_set(s, SSH_OPTIONS_USER, c->cfg->user) < 0 ||
        ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0 ||
        ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config) < 0)
        return qm_ssh_conn_fail(c, "cannot set SSH options", error);

    /* We check host keys ourselves, but say so in case libssh ever does */
    ssh_options_set(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &strict);
    /*
     * Everything runs non-blocking under qm_ssh_conn_wait(); this only bounds
     * any wait libssh might still do in blocking style behind our back.
     */
    left = MAX(c->deadline - g_get_monotonic_time(), 1000);
    timeout = left / G_USEC_PER_SEC;
    timeout_usec = left % G_USEC_PER_SEC;
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &timeout_usec);

    ssh_callbacks_init(&c->callbacks);
    c->callbacks.auth_function = qm_ssh_auth_refuse_passphrase;
    c->callbacks.userdata = c;
    ssh_set_callbacks(s, &c->callbacks);
    return TRUE;
}

/**
 * conn_start_proxy() - run the ProxyCommand and hand its socket to libssh
 * @c:     configured connection with a proxy command
 * @error: set on failure
 *
 * Return: TRUE when the command runs and libssh has its socket
 */
static gboolean conn_start_proxy(QmSshConn *c, GError **error)
{
    g_autofree char *expanded = NULL;
    QmProxyTarget target = {
        .host = c->cfg->hostname,
        .alias = c->cfg->alias,
        .port = c->cfg->port,
        .user = c->cfg->user,
    };
    int fd = -1;

    expanded = qm_proxy_expand(c->dest, c->cfg->proxy_command, &target, error);
    if (expanded != NULL)
        g_debug("%s: ProxyCommand %s", c->dest, expanded);
    if (expanded == NULL ||
        !qm_proxy_start(c->dest, expanded, &c->proxy, &fd, error))
        return FALSE;
    if (ssh_options_set(c->session, SSH_OPTIONS_FD, &fd) < 0) {
        close(fd);
        return qm_ssh_conn_fail(
            c, "cannot hand the ProxyCommand's socket to libssh", error);
    }
    c->fd = fd;
    return TRUE;
}

/**
 * conn_proxy_failed() - add what the ProxyCommand said to a connect error
 * @c:     connection
 * @error: the error, set already
 *
 * A jump host that refuses us ends the proxy with a message on its
 * stderr ("Host key verification failed.", "Permission denied"); libssh
 * only sees the socket close.
 */
static void conn_proxy_failed(const QmSshConn *c, GError **error)
{
    g_autofree char *said = NULL;
    gint64 until = g_get_monotonic_time() + 200 * 1000;

    if (c->proxy == NULL || error == NULL || *error == NULL)
        return;
    /* it writes its reason, then exits: give it that moment */
    while ((said = qm_proxy_said(c->proxy)) == NULL &&
           g_get_monotonic_time() < until)
        g_usleep(10 * 1000);
    if (said != NULL) {
        char *message =
            g_strdup_printf("%s (ProxyCommand: %s)", (*error)->message, said);

        g_free((*error)->message);
        (*error)->message = message;
    }
}

/**
 * conn_connect() - connect, exchange keys, and attach the socket to the
 *                  event all later waits poll
 * @c:     configured connection
 * @error: set on failure
 *
 * Return: TRUE once the key exchange is complete
 */
static gboolean conn_connect(QmSshConn *c, GError **error)
{
    g_autofree char *what = NULL;
    int rc;

    what = g_strdup_printf("cannot connect to %s port %d", c->cfg->hostname,
                           c->cfg->port);
    if (g_get_monotonic_time() >= c->deadline)
        return conn_timeout(c, "before connecting", error);

    /* A ProxyCommand reaches the peer its own way (and may know names we
     * cannot resolve); otherwise resolve and connect within the deadline,
     * with ssh_config's AddressFamily and ConnectTimeout */
    if (c->cfg->proxy_command != NULL) {
        if (!conn_start_proxy(c, error))
            return FALSE;
    } else {
        QmTcpOptions tcp = {
            .family = c->cfg->address_family,
            .connect_timeout_us =
                (gint64)c->cfg->connect_timeout_s * G_USEC_PER_SEC,
        };
        socket_t fd;

        if (!qm_tcp_connect(c->dest, c->cfg->hostname, c->cfg->port, &tcp,
                            c->deadline, &fd, error))
            return FALSE;
        if (ssh_options_set(c->session, SSH_OPTIONS_FD, &fd) < 0) {
            close(fd);
            return qm_ssh_conn_fail(c, what, error);
        }
        c->fd = fd;
    }
    ssh_set_blocking(c->session, 0);
    rc = ssh_connect(c->session);
    conn_tune_socket(c);
    if (rc == SSH_ERROR) {
        qm_ssh_conn_fail(c, what, error);
        conn_proxy_failed(c, error);
        return FALSE;
    }

    /* The first call created the socket and its poll handle: borrow it */
    if (ssh_event_add_session(c->event, c->session) != SSH_OK) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot poll the SSH connection", c->dest);
        return FALSE;
    }
    c->in_event = TRUE;

    while (rc == SSH_AGAIN) {
        if (!qm_ssh_conn_wait(c, "while connecting", error)) {
            conn_proxy_failed(c, error);
            return FALSE;
        }
        rc = ssh_connect(c->session);
    }
    if (rc != SSH_OK) {
        qm_ssh_conn_fail(c, what, error);
        conn_proxy_failed(c, error);
        return FALSE;
    }
    return TRUE;
}

/**
 * on_data() - channel callback: collect stdout and the head of stderr
 * @session:   session
 * @channel:   channel
 * @data:      bytes received
 * @len:       how many
 * @is_stderr: whether they are stderr
 * @userdata:  the QmSshConn
 *
 * Everything is always consumed, so that libssh keeps opening the window
 * and the command never blocks on a full pipe while we still read.
 *
 * Return: @len
 */
static int on_data(ssh_session session, ssh_channel channel, void *data,
                   uint32_t len, int is_stderr, void *userdata)
{
    QmSshConn *c = userdata;

    if (is_stderr) {
        /* room for the PID line too, cut by qm_ssh_run() */
        gsize max = QM_SSH_ERR_MAX + strlen(QM_SSH_PGID_TAG) + 8;
        gsize room = max - MIN(c->err->len, max);

        g_string_append_len(c->err, data, MIN(len, room));
    } else if (c->overflow || len > c->max_out - c->out->len) {
        c->overflow = TRUE;
    } else {
        g_byte_array_append(c->out, data, len);
    }
    return (int)len;
}

/**
 * on_eof() - channel callback: the command closed its output
 * @session:  session
 * @channel:  channel
 * @userdata: the QmSshConn
 */
static void on_eof(ssh_session session, ssh_channel channel, void *userdata)
{
    QmSshConn *c = userdata;

    c->eof = TRUE;
}

/**
 * on_close() - channel callback: the server closed the channel
 * @session:  session
 * @channel:  channel
 * @userdata: the QmSshConn
 */
static void on_close(ssh_session session, ssh_channel channel, void *userdata)
{
    QmSshConn *c = userdata;

    c->eof = TRUE;
    c->closed = TRUE;
}

/**
 * on_exit_status() - channel callback: the command exited
 * @session:     session
 * @channel:     channel
 * @exit_status: its exit status
 * @userdata:    the QmSshConn
 */
static void on_exit_status(ssh_session session, ssh_channel channel,
                           int exit_status, void *userdata)
{
    QmSshConn *c = userdata;

    c->exited = TRUE;
    c->exit_status = exit_status;
}

/**
 * on_exit_signal() - channel callback: the command was killed by a signal
 * @session:  session
 * @channel:  channel
 * @signal:   signal name
 * @core:     whether it dumped core
 * @errmsg:   server's message
 * @lang:     language of @errmsg
 * @userdata: the QmSshConn
 */
static void on_exit_signal(ssh_session session, ssh_channel channel,
                           const char *signal, int core, const char *errmsg,
                           const char *lang, void *userdata)
{
    QmSshConn *c = userdata;

    /* No exit status to report: exit_status stays -1 */
    c->exited = TRUE;
}

/**
 * conn_exec() - open the session channel and start the command
 * @c:       authenticated connection
 * @command: command line for the remote user's shell
 * @error:   set on failure
 *
 * Return: TRUE once the server accepted the exec request
 */
static gboolean conn_exec(QmSshConn *c, const char *command, GError **error)
{
    int rc;

    c->channel = ssh_channel_new(c->session);
    if (c->channel == NULL)
        return qm_ssh_conn_fail(c, "cannot create an SSH channel", error);

    /* Before opening: nothing may arrive that bypasses the callbacks */
    ssh_callbacks_init(&c->channel_cb);
    c->channel_cb.userdata = c;
    c->channel_cb.channel_data_function = on_data;
    c->channel_cb.channel_eof_function = on_eof;
    c->channel_cb.channel_close_function = on_close;
    c->channel_cb.channel_exit_status_function = on_exit_status;
    c->channel_cb.channel_exit_signal_function = on_exit_signal;
    ssh_set_channel_callbacks(c->channel, &c->channel_cb);

    while ((rc = ssh_channel_open_session(c->channel)) == SSH_AGAIN) {
        if (!qm_ssh_conn_wait(c, "while opening an SSH channel", error))
            return FALSE;
    }
    if (rc != SSH_OK)
        return qm_ssh_conn_fail(c, "cannot open an SSH channel", error);

    while ((rc = ssh_channel_request_exec(c->channel, command)) == SSH_AGAIN) {
        if (!qm_ssh_conn_wait(c, "while starting the remote command", error))
            return FALSE;
    }
    if (rc != SSH_OK)
        return qm_ssh_conn_fail(c, "cannot start the remote command", error);
    return TRUE;
}

/**
 * conn_io() - feed the command its input and collect its output, both at
 *             once, until it has exited and closed its output
 * @c:         connection running the command
 * @input:     bytes for the command's stdin
 * @input_len: how many
 * @error:     set on failure
 *
 * Writing everything first could deadlock: a command like cat stops
 * reading once its output fills our window, while we would wait for
 * window to write.  So each round writes only what the peer's window
 * takes now and lets the callbacks drain output in the same poll.
 *
 * Return: TRUE when the command is done
 */
static gboolean conn_io(QmSshConn *c, const char *input, gsize input_len,
                        GError **error)
{
    gsize done = 0;
    gboolean eof_sent = FALSE;

    for (;;) {
        while (!c->closed && done < input_len) {
            uint32_t window = ssh_channel_window_size(c->channel);
            gsize chunk =
                MIN(MIN(input_len - done, window), QM_SSH_WRITE_CHUNK);
            int n;

            if (chunk == 0)
                break;
            n = ssh_channel_write(c->channel, input + done, (uint32_t)chunk);
            if (n == SSH_ERROR && !c->closed)
                return qm_ssh_conn_fail(c, "cannot send input", error);
            if (n <= 0)
                break;
            done += n;
        }
        /*
         * A command that exits without reading all its input is its own
         * business: once the channel is closed, drop the rest.
         */
        if (!eof_sent && !c->closed && done == input_len) {
            if (ssh_channel_send_eof(c->channel) == SSH_ERROR && !c->closed)
                return qm_ssh_conn_fail(c, "cannot send input", error);
            eof_sent = TRUE;
        }

        if (c->overflow) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        "%s: remote command wrote more than %" G_GSIZE_FORMAT
                        " bytes",
                        c->dest, c->max_out);
            return FALSE;
        }
        /* Exit status and EOF come in either order; close follows both */
        if (c->closed || (c->eof && c->exited))
            return TRUE;
        if (!qm_ssh_conn_wait(c, "while waiting for the remote command", error))
            return FALSE;
    }
}

/**
 * conn_init() - fill a fresh QmSshConn and create its libssh objects
 * @c:        connection (zeroed)
 * @dest:     destination as the user wrote it
 * @deadline: g_get_monotonic_time() deadline
 * @max_out:  bound for stdout
 * @error:    set when libssh cannot allocate
 *
 * Return: TRUE on success; @c is freed by its owner either way
 */
static gboolean conn_init(QmSshConn *c, const char *dest, gint64 deadline,
                          gsize max_out, GError **error)
{
    qm_ssh_init();
    c->dest = dest;
    c->start = g_get_monotonic_time();
    c->deadline = deadline;
    c->max_out = max_out;
    c->exit_status = -1;
    c->fd = -1;
    c->out = g_byte_array_new();
    c->err = g_string_new(NULL);
    c->session = ssh_new();
    c->event = ssh_event_new();
    if (c->session == NULL || c->event == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot create an SSH session", dest);
        return FALSE;
    }
    return TRUE;
}

/**
 * conn_open() - connect and authenticate
 * @c:        connection (zeroed)
 * @dest:     destination as the user wrote it (borrowed by @c)
 * @options:  what the user said about SSH, may be NULL
 * @deadline: g_get_monotonic_time() deadline
 * @max_out:  bound for an exec channel's stdout
 * @error:    set on failure
 *
 * Return: TRUE when the session is authenticated
 */
static gboolean conn_open(QmSshConn *c, const char *dest,
                          const QmSshOptions *options, gint64 deadline,
                          gsize max_out, GError **error)
{
    if (!conn_init(c, dest, deadline, max_out, error))
        return FALSE;
    /* ssh_config as ssh(1) reads it, unless the caller did that already */
    if (options != NULL && options->config != NULL) {
        c->cfg = options->config;
    } else {
        if (!qm_ssh_config_evaluate(dest, options, deadline, &c->own_cfg,
                                    error))
            return FALSE;
        c->cfg = c->own_cfg;
    }
    return conn_configure(c, error) && conn_connect(c, error) &&
           qm_ssh_hostkey_check(c, error) && qm_ssh_auth_run(c, options, error);
}

/**
 * qm_ssh_conn_open() - an authenticated connection, for a channel of
 *                      another kind than qm_ssh_run()'s (sshforward.c)
 * @dest:     destination as the user wrote it (borrowed: it must outlive
 *            the connection)
 * @options:  what the user said about SSH, may be NULL
 * @deadline: g_get_monotonic_time() deadline for connecting
 * @error:    set on failure, as for qm_ssh_run()
 *
 * Return: the connection (qm_ssh_conn_free()), or NULL
 */
QmSshConn *qm_ssh_conn_open(const char *dest, const QmSshOptions *options,
                            gint64 deadline, GError **error)
{
    g_autoptr(QmSshConn) c = g_new0(QmSshConn, 1);

    if (!conn_open(c, dest, options, deadline, 0, error))
        return NULL;
    return g_steal_pointer(&c);
}

/**
 * qm_ssh_run() - run one command on a peer and collect what it did
 * @dest:      "[user@]host[:port]", "[user@][v6addr][:port]", or a Host
 *             alias from ssh_config
 * @options:   what the user said about SSH, NULL for all defaults
 * @command:   command line, run by the remote user's shell
 * @input:     bytes for the command's stdin, then EOF (NULL if @input_len
 *             is 0)
 * @input_len: how many
 * @max_out:   most stdout bytes accepted
 * @deadline:  g_get_monotonic_time() value by which the call returns,
 *             whatever the peer does
 * @result:    set to what the command did, on success only
 * @error:     set on failure, one line starting with @dest
 *
 * Host keys are checked strictly against known_hosts, authentication is
 * by public key only (ssh-agent, @options->identity, IdentityFile, default
 * keys), and nothing is ever asked on the terminal.  Safe to call from
 * several threads at once, each call using its own session.
 *
 * Return: TRUE if the command ran (whatever its exit status); FALSE with
 * QM_ERROR_USAGE (bad @dest or ssh_config), QM_ERROR_HOSTKEY,
 * QM_ERROR_UNREACHABLE (connection, authentication, channel, timeout) or
 * QM_ERROR_PROTOCOL (more than @max_out bytes of output)
 */
gboolean qm_ssh_run(const char *dest, const QmSshOptions *options,
                    const char *command, const char *input, gsize input_len,
                    gsize max_out, gint64 deadline, QmSshResult **result,
                    GError **error)
{
    g_autoptr(QmSshConn) c = g_new0(QmSshConn, 1);
    g_autofree char *announced = NULL;
    gsize tag_at = 0, tag_len = 0;
    QmSshResult *r;

    g_return_val_if_fail(dest != NULL, FALSE);
    g_return_val_if_fail(command != NULL, FALSE);
    g_return_val_if_fail(input != NULL || input_len == 0, FALSE);
    g_return_val_if_fail(result != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    if (!conn_open(c, dest, options, deadline, max_out, error))
        return FALSE;
    /* POSIX sh, bash, dash, ksh and zsh all run this as meant */
    announced = g_strdup_printf("echo " QM_SSH_PGID_TAG "$$ >&2; %s", command);
    if (!conn_exec(c, announced, error) || !conn_io(c, input, input_len, error))
        return FALSE;

    if (stderr_pgid(c->err, &tag_at, &tag_len) != 0)
        g_string_erase(c->err, tag_at, tag_len);
    g_string_truncate(c->err, MIN(c->err->len, QM_SSH_ERR_MAX));
    r = g_new0(QmSshResult, 1);
    r->out = g_steal_pointer(&c->out);
    r->err = g_string_free(g_steal_pointer(&c->err), FALSE);
    r->exit_status = c->exit_status;
    *result = r;
    return TRUE;
}
