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
 * without a bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "agent.h"
#include "knownhosts.h"
#include "proxy.h"
#include "ssh.h"
#include "sshconfig.h"
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

/* libssh 0.10 has no autoptr support: wrap its types for g_autoptr() */
typedef struct ssh_key_struct QmSshKey;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshKey, ssh_key_free)

typedef char QmSshChars;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshChars, ssh_string_free_char)

typedef unsigned char QmSshHash;

/**
 * qm_ssh_hash_free() - release a hash from ssh_get_publickey_hash()
 * @hash: hash to free
 */
static void qm_ssh_hash_free(QmSshHash *hash)
{
    ssh_clean_pubkey_hash(&hash);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshHash, qm_ssh_hash_free)

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

static gboolean conn_wait(QmSshConn *c, const char *what, GError **error);

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
               conn_wait(c, "", &ignored))
            ;
        if (rc == SSH_OK) {
            while ((rc = ssh_channel_request_exec(kill_ch, kill_cmd)) ==
                       SSH_AGAIN &&
                   conn_wait(c, "", &ignored))
                ;
        }
        /* kill(1) has run once its channel is done */
        while (rc == SSH_OK && !ssh_channel_is_eof(kill_ch) &&
               !ssh_channel_is_closed(kill_ch) && conn_wait(c, "", &ignored))
            ;
        ssh_channel_free(kill_ch);
    }
    ssh_blocking_flush(c->session, (int)(QM_SSH_SEND_TIMEOUT_US / 1000));
}

/**
 * qm_ssh_conn_free() - tear down a connection, on every path out of
 *                      qm_ssh_run()
 * @c: connection, may be NULL
 *
 * The order matters: the channel belongs to the session, and the session's
 * socket must go back to the session's own poll context before the event
 * that borrowed it is freed.
 */
static void qm_ssh_conn_free(QmSshConn *c)
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
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmSshConn, qm_ssh_conn_free)

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
 * one_line() - make a libssh message fit in a one-line qemu-mig message
 * @msg: message, may be NULL
 *
 * Return: newly allocated copy without control characters and without
 * trailing dots or blanks, "unknown error" if nothing is left
 */
static char *one_line(const char *msg)
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
 * elapsed_s() - seconds spent in this qm_ssh_run() call, for messages
 * @c: connection
 *
 * Return: elapsed time in seconds
 */
static double elapsed_s(const QmSshConn *c)
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
                "%s: timed out after %.1f s %s", c->dest, elapsed_s(c), what);
    return FALSE;
}

/**
 * conn_fail() - fail with libssh's own account of a session error
 * @c:     connection
 * @what:  what failed, e.g. "cannot open an SSH channel"
 * @error: set to a QM_ERROR_UNREACHABLE error
 *
 * Return: FALSE
 */
static gboolean conn_fail(const QmSshConn *c, const char *what, GError **error)
{
    g_autofree char *why = one_line(ssh_get_error(c->session));

    g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE, "%s: %s: %s", c->dest,
                what, why);
    return FALSE;
}

/**
 * conn_wait() - wait for the session's socket, at most until the deadline
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
static gboolean conn_wait(QmSshConn *c, const char *what, GError **error)
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

        return conn_fail(c, lost, error);
    }
    return TRUE;
}

/**
 * refuse_passphrase() - libssh auth callback that never prompts
 * @prompt: prompt libssh would show
 * @buf:    buffer for the answer
 * @len:    size of @buf
 * @echo:   whether the answer would be echoed
 * @verify: whether the answer would be asked twice
 * @userdata: the QmSshConn
 *
 * Without any callback, libssh hands passphrase-protected PEM keys to
 * OpenSSL with no password callback, and OpenSSL's default one prompts on
 * /dev/tty.  qemu-mig runs in front of QEMU, possibly under a management
 * tool: a key we cannot use without a passphrase is skipped (the agent may
 * still hold it), never asked for - but counted, so that a failed login
 * can say why the key the server wanted was not used.
 *
 * Return: -1, always
 */
static int refuse_passphrase(const char *prompt, char *buf, size_t len,
                             int echo, int verify, void *userdata)
{
    QmSshConn *c = userdata;

    if (c != NULL)
        c->locked_keys++;
    return -1;
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
        return conn_fail(c, "cannot set SSH options", error);

    /* We check host keys ourselves, but say so in case libssh ever does */
    ssh_options_set(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &strict);
    /*
     * Everything runs non-blocking under conn_wait(); this only bounds
     * any wait libssh might still do in blocking style behind our back.
     */
    left = MAX(c->deadline - g_get_monotonic_time(), 1000);
    timeout = left / G_USEC_PER_SEC;
    timeout_usec = left % G_USEC_PER_SEC;
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &timeout_usec);

    ssh_callbacks_init(&c->callbacks);
    c->callbacks.auth_function = refuse_passphrase;
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
        return conn_fail(c, "cannot hand the ProxyCommand's socket to libssh",
                         error);
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
            return conn_fail(c, what, error);
        }
        c->fd = fd;
    }
    ssh_set_blocking(c->session, 0);
    rc = ssh_connect(c->session);
    conn_tune_socket(c);
    if (rc == SSH_ERROR) {
        conn_fail(c, what, error);
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
        if (!conn_wait(c, "while connecting", error)) {
            conn_proxy_failed(c, error);
            return FALSE;
        }
        rc = ssh_connect(c->session);
    }
    if (rc != SSH_OK) {
        conn_fail(c, what, error);
        conn_proxy_failed(c, error);
        return FALSE;
    }
    return TRUE;
}

/**
 * host_key_fingerprint() - the server's host key as "TYPE SHA256:..."
 * @session: connected session
 *
 * Return: newly allocated description, never NULL
 */
static char *host_key_fingerprint(ssh_session session)
{
    g_autoptr(QmSshKey) key = NULL;
    g_autoptr(QmSshHash) hash = NULL;
    g_autoptr(QmSshChars) fingerprint = NULL;
    size_t hash_len = 0;
    const char *type;

    if (ssh_get_server_publickey(session, &key) != SSH_OK)
        return g_strdup("(no host key)");
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
                               &hash_len) != 0) {
        return g_strdup("(no fingerprint)");
    }
    fingerprint =
        ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len);
    type = ssh_key_type_to_char(ssh_key_type(key));
    return g_strdup_printf("%s %s", type != NULL ? type : "unknown-type",
                           fingerprint != NULL ? fingerprint : "SHA256:?");
}

/**
 * command_known_hosts() - KnownHostsCommand's lines, as a file to read
 * @c:     connection with a KnownHostsCommand
 * @name:  host name looked up
 * @type:  server key type
 * @blob:  server key, base64
 * @fd:    set to a memfd holding the lines (close-on-exec)
 * @error: set when the command fails
 *
 * knownhosts.c reads files: /proc/self/fd/N of a memfd is one.
 *
 * Return: the file name, newly allocated, or NULL on error
 */
static char *command_known_hosts(QmSshConn *c, const char *name,
                                 const char *type, const char *blob, int *fd,
                                 GError **error)
{
    g_autofree char *lines = NULL;
    g_autofree char *fp = host_key_fingerprint(c->session);
    const char *space = strchr(fp, ' ');
    gsize len;

    if (!qm_ssh_config_known_hosts_command(c->cfg, name, type, blob,
                                           space ? space + 1 : fp, c->deadline,
                                           &lines, error))
        return NULL;
    len = strlen(lines);
    *fd = memfd_create("qemu-mig-known-hosts", MFD_CLOEXEC);
    if (*fd < 0 || write(*fd, lines, len) != (ssize_t)len) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot keep KnownHostsCommand's output: %s", c->dest,
                    g_strerror(errno));
        return NULL;
    }
    return g_strdup_printf("/proc/self/fd/%d", *fd);
}

/**
 * conn_check_host_key() - refuse any host key known_hosts does not list
 * @c:       connected connection
 * @options: the user's SSH options, may be NULL
 * @error:   set to a QM_ERROR_HOSTKEY error on refusal
 *
 * Strict always: qemu-mig talks to peers unattended and never writes
 * known_hosts, so an unknown key is as much a refusal as a changed one.
 * The files are read with OpenSSH's rules (knownhosts.c), not libssh's,
 * which accept @revoked keys.  This runs before authentication so that no
 * key of ours is ever offered to an unverified server.
 *
 * Return: TRUE if the host key is known and matches
 */
static gboolean conn_check_host_key(QmSshConn *c, GError **error)
{
    g_autoptr(QmSshKey) server_key = NULL;
    g_autofree char *blob = NULL;
    g_autofree char *name = NULL;
    g_autofree char *key = NULL;
    g_autofree char *where = NULL;
    g_autofree char *list = NULL;
    g_autofree char *command_file = NULL;
    g_autoptr(GPtrArray) files = g_ptr_array_new();
    const char *type;
    int command_fd = -1;
    QmHostKeyState state;

    /* HostKeyAlias is looked up as it is, without the port (as ssh(1)) */
    name = c->cfg->host_key_alias
               ? g_strdup(c->cfg->host_key_alias)
               : qm_known_hosts_name(c->cfg->hostname, c->cfg->port);
    if (ssh_get_server_publickey(c->session, &server_key) != SSH_OK ||
        ssh_pki_export_pubkey_base64(server_key, &blob) != SSH_OK ||
        (type = ssh_key_type_to_char(ssh_key_type(server_key))) == NULL) {
        g_autofree char *why = one_line(ssh_get_error(c->session));

        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: cannot check the host key: %s", c->dest, why);
        return FALSE;
    }
    key = host_key_fingerprint(c->session);
    {
        g_autoptr(GString) names = g_string_new(NULL);

        for (char **f = c->cfg->known_hosts; *f != NULL; f++) {
            g_ptr_array_add(files, *f);
            g_string_append_printf(names, "%s%s%s", names->len ? ", " : "", *f,
                                   g_file_test(*f, G_FILE_TEST_EXISTS)
                                       ? ""
                                       : " (which does not exist)");
        }
        if (c->cfg->known_hosts_command != NULL) {
            command_file =
                command_known_hosts(c, name, type, blob, &command_fd, error);
            if (command_file == NULL) {
                if (command_fd >= 0)
                    close(command_fd);
                return FALSE;
            }
            g_ptr_array_add(files, command_file);
            g_string_append_printf(names, "%sKnownHostsCommand",
                                   names->len ? ", " : "");
        }
        list = g_string_free(g_steal_pointer(&names), FALSE);
    }
    g_ptr_array_add(files, NULL);
    state = qm_known_hosts_check((const char *const *)files->pdata, name, type,
                                 blob, &where);
    if (command_fd >= 0)
        close(command_fd);
    if (where != NULL && command_file != NULL &&
        g_str_has_prefix(where, command_file)) {
        char *shown = g_strconcat("KnownHostsCommand output",
                                  where + strlen(command_file), NULL);

        g_free(where);
        where = shown;
    }

    switch (state) {
    case QM_HOSTKEY_OK:
        return TRUE;
    case QM_HOSTKEY_REVOKED:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: host key for %s is REVOKED (%s marks it @revoked): "
                    "server offers %s",
                    c->dest, name, where, key);
        break;
    case QM_HOSTKEY_CHANGED:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: host key CHANGED for %s (possible "
                    "man-in-the-middle): server offers %s, %s lists "
                    "another key",
                    c->dest, name, key, where);
        break;
    case QM_HOSTKEY_OTHER:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: known_hosts has a different key type for %s: "
                    "server offers %s, %s lists only other types (possible "
                    "man-in-the-middle)",
                    c->dest, name, key, where);
        break;
    case QM_HOSTKEY_CA_ONLY:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: only a @cert-authority line (%s) vouches for %s, "
                    "and qemu-mig cannot verify host certificates: list the "
                    "host's own key (server offers %s)",
                    c->dest, where, name, key);
        break;
    default:
        g_set_error(error, QM_ERROR, QM_ERROR_HOSTKEY,
                    "%s: unknown host key for %s: server offers %s, not "
                    "listed in %s",
                    c->dest, name, key, list);
        break;
    }
    return FALSE;
}

/**
 * auth_methods() - the authentication methods the server offered
 * @session: session after a failed authentication attempt
 *
 * Return: newly allocated comma-separated list
 */
static char *auth_methods(ssh_session session)
{
    static const struct {
        int method;
        const char *name;
    } names[] = {
        {SSH_AUTH_METHOD_PUBLICKEY, "publickey"},
        {SSH_AUTH_METHOD_PASSWORD, "password"},
        {SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive"},
        {SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic"},
        {SSH_AUTH_METHOD_HOSTBASED, "hostbased"},
    };
    int methods = ssh_userauth_list(session, NULL);
    g_autoptr(GString) s = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        if (methods & names[i].method)
            g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                                   names[i].name);
    }
    if (s->len == 0)
        g_string_append(s, "none");
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/**
 * auth_key() - offer one private key (or key with certificate)
 * @c:     connection past host key checking
 * @key:   private key
 * @error: set on a connection failure
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED/PARTIAL, or SSH_AUTH_ERROR
 * with @error
 */
static int auth_key(QmSshConn *c, ssh_key key, GError **error)
{
    int rc;

    while ((rc = ssh_userauth_publickey(c->session, NULL, key)) ==
           SSH_AUTH_AGAIN) {
        if (!conn_wait(c, "while authenticating", error))
            return SSH_AUTH_ERROR;
    }
    if (rc == SSH_AUTH_ERROR)
        conn_fail(c, "SSH authentication failed", error);
    return rc;
}

/**
 * auth_identity() - try the key file the user named, before anything else
 * @c:        connection past host key checking
 * @identity: private key file
 * @note:     set to why the file could not be used, if it could not
 * @error:    set on a connection failure
 *
 * Tried before the agent: otherwise every ssh-agent key would go first,
 * and the key the user asked for might never be tried once the server's
 * MaxAuthTries is used up.
 *
 * Return: SSH_AUTH_SUCCESS or SSH_AUTH_DENIED, SSH_AUTH_ERROR with @error
 */
static int auth_identity(QmSshConn *c, const char *identity, char **note,
                         GError **error)
{
    g_autoptr(QmSshKey) key = NULL;
    int rc;

    rc =
        ssh_pki_import_privkey_file(identity, NULL, refuse_passphrase, c, &key);
    if (rc != SSH_OK) {
        *note = g_strdup_printf(
            rc == SSH_EOF ? "cannot read identity %s"
                          : "cannot load identity %s (passphrase-protected "
                            "keys must come from ssh-agent)",
            identity);
        return SSH_AUTH_DENIED;
    }
    return auth_key(c, key, error);
}

/**
 * auth_certificates() - offer a key file's certificates, as ssh(1) does
 * @c:     connection past host key checking
 * @file:  private key file, unencrypted
 * @error: set on a connection failure
 *
 * Every CertificateFile, and FILE-cert.pub when it exists, each joined
 * to the private key (ssh_pki_copy_cert_to_privkey() changes the key it
 * is given, so each certificate gets a fresh copy).
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED, or SSH_AUTH_ERROR
 */
static int auth_certificates(QmSshConn *c, const char *file, GError **error)
{
    g_autoptr(GPtrArray) certs = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *implicit = g_strconcat(file, "-cert.pub", NULL);

    for (char **f = c->cfg->certificate_files; f && *f != NULL; f++)
        g_ptr_array_add(certs, g_strdup(*f));
    if (g_file_test(implicit, G_FILE_TEST_EXISTS))
        g_ptr_array_add(certs, g_steal_pointer(&implicit));
    for (guint i = 0; i < certs->len; i++) {
        g_autoptr(QmSshKey) cert = NULL;
        g_autoptr(QmSshKey) key = NULL;
        int rc;

        if (ssh_pki_import_cert_file(g_ptr_array_index(certs, i), &cert) !=
                SSH_OK ||
            ssh_pki_import_privkey_file(file, NULL, refuse_passphrase, NULL,
                                        &key) != SSH_OK ||
            ssh_pki_copy_cert_to_privkey(cert, key) != SSH_OK)
            continue;
        rc = auth_key(c, key, error);
        if (rc == SSH_AUTH_SUCCESS || rc == SSH_AUTH_ERROR)
            return rc;
    }
    return SSH_AUTH_DENIED;
}

/**
 * auth_file() - offer one IdentityFile
 * @c:     connection past host key checking
 * @file:  private key file (a missing one is skipped, as by ssh(1))
 * @error: set on a connection failure
 *
 * A passphrase-protected file is never asked for; when the server would
 * have taken it, that is counted for the failure message.  (ssh(1) with
 * IdentitiesOnly lets the agent sign for such a file's key; libssh 0.10
 * has no public call to have the agent sign for one chosen key.)
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED, or SSH_AUTH_ERROR
 */
static int auth_file(QmSshConn *c, const char *file, GError **error)
{
    g_autoptr(QmSshKey) key = NULL;
    g_autoptr(QmSshKey) pub = NULL;
    g_autofree char *pub_file = g_strconcat(file, ".pub", NULL);
    int rc;

    if (!g_file_test(file, G_FILE_TEST_EXISTS))
        return SSH_AUTH_DENIED;
    if (ssh_pki_import_privkey_file(file, NULL, refuse_passphrase, NULL,
                                    &key) == SSH_OK) {
        rc = auth_certificates(c, file, error);
        if (rc != SSH_AUTH_DENIED)
            return rc;
        return auth_key(c, key, error);
    }
    /* locked: would the server have taken it? */
    if (ssh_pki_import_pubkey_file(pub_file, &pub) != SSH_OK)
        return SSH_AUTH_DENIED;
    while ((rc = ssh_userauth_try_publickey(c->session, NULL, pub)) ==
           SSH_AUTH_AGAIN) {
        if (!conn_wait(c, "while authenticating", error))
            return SSH_AUTH_ERROR;
    }
    if (rc == SSH_AUTH_ERROR) {
        conn_fail(c, "SSH authentication failed", error);
        return SSH_AUTH_ERROR;
    }
    if (rc == SSH_AUTH_SUCCESS)
        c->locked_keys++;
    return SSH_AUTH_DENIED;
}

/**
 * auth_agent_abandon() - end an unfinished ssh_userauth_agent()
 * @c: connection whose wait for the server's answer failed
 *
 * libssh 0.10 keeps that call's state (and the public key it offered)
 * until the call returns something other than SSH_AUTH_AGAIN; ssh_free()
 * frees the state but not the key.  So cut the connection under it and
 * let the call fail once, which frees both: the socket is shut down, and
 * the non-blocking call sees EOF at once.
 */
static void auth_agent_abandon(QmSshConn *c)
{
    socket_t fd = ssh_get_fd(c->session);

    if (fd == SSH_INVALID_SOCKET)
        return;
    shutdown(fd, SHUT_RDWR);
    for (int i = 0;
         i < 4 && ssh_userauth_agent(c->session, NULL) == SSH_AUTH_AGAIN; i++)
        ;
}

/**
 * auth_agent() - offer every key ssh-agent holds
 * @c:     connection past host key checking, with an agent socket
 * @relay: the relay in front of the agent
 * @error: set on failure (the agent's silence named, if it was that)
 *
 * Return: SSH_AUTH_SUCCESS, SSH_AUTH_DENIED/PARTIAL, or SSH_AUTH_ERROR
 */
static int auth_agent(QmSshConn *c, QmAgentRelay *relay, GError **error)
{
    int rc;

    while ((rc = ssh_userauth_agent(c->session, NULL)) == SSH_AUTH_AGAIN) {
        if (!conn_wait(c, "while authenticating", error)) {
            g_autoptr(GError) agent_error = NULL;

            /* the agent's silence, if that is what used up the time */
            if (!qm_agent_relay_stop(relay, elapsed_s(c), &agent_error)) {
                g_clear_error(error);
                g_propagate_error(error, g_steal_pointer(&agent_error));
            }
            auth_agent_abandon(c);
            return SSH_AUTH_ERROR;
        }
    }
    if (rc == SSH_AUTH_ERROR) {
        /* a session error, or merely no usable agent: tell them apart */
        if (ssh_get_status(c->session) & (SSH_CLOSED | SSH_CLOSED_ERROR)) {
            conn_fail(c, "SSH authentication failed", error);
            return SSH_AUTH_ERROR;
        }
        rc = SSH_AUTH_DENIED;
    }
    return rc;
}

/**
 * conn_auth() - authenticate with public keys only, never prompting
 * @c:       connection past host key checking
 * @options: what the user said about SSH, may be NULL
 * @error:   set on failure
 *
 * ssh(1)'s order: --identity (qemu-mig's own), then unless IdentitiesOnly
 * every ssh-agent key, then each IdentityFile (its certificates first; a
 * passphrase-protected one through the agent, when it holds the key).
 *
 * Return: TRUE once authenticated
 */
static gboolean conn_auth(QmSshConn *c, const QmSshOptions *options,
                          GError **error)
{
    g_autofree char *note = NULL;
    g_autofree char *methods = NULL;
    g_autoptr(QmAgentRelay) agent = NULL;
    gboolean no_agent = g_strcmp0(c->cfg->identity_agent, "none") == 0;
    g_autofree char *agent_path = NULL;
    int agent_fd = -1;
    int rc;

    /* Some servers let anybody in; it also fetches the method list */
    while ((rc = ssh_userauth_none(c->session, NULL)) == SSH_AUTH_AGAIN) {
        if (!conn_wait(c, "while authenticating", error))
            return FALSE;
    }
    if (rc == SSH_AUTH_SUCCESS)
        return TRUE;
    if (rc == SSH_AUTH_ERROR)
        return conn_fail(c, "SSH authentication failed", error);

    if (options != NULL && options->identity != NULL) {
        rc = auth_identity(c, options->identity, &note, error);
        if (rc == SSH_AUTH_SUCCESS)
            return TRUE;
        if (rc == SSH_AUTH_ERROR)
            return FALSE;
    }

    /* the agent through our relay, which bounds its answers (agent.c) */
    if (!no_agent && c->cfg->identity_agent != NULL) {
        agent_path = qm_ssh_config_expand(c->cfg, c->cfg->identity_agent,
                                          "CdhikLlnpru", error);
        if (agent_path == NULL)
            return FALSE;
    }
    if (!no_agent && !qm_agent_relay_start(c->dest, agent_path, c->deadline,
                                           &agent, &agent_fd, error))
        return FALSE;
    if (agent_fd >= 0 && ssh_set_agent_socket(c->session, agent_fd) != SSH_OK) {
        close(agent_fd);
        g_clear_pointer(&agent, qm_agent_relay_free);
    }
    rc = SSH_AUTH_DENIED;
    if (agent != NULL && !c->cfg->identities_only) {
        rc = auth_agent(c, agent, error);
        if (rc == SSH_AUTH_ERROR)
            return FALSE;
    }
    for (char **f = c->cfg->identity_files;
         rc != SSH_AUTH_SUCCESS && f != NULL && *f != NULL; f++) {
        rc = auth_file(c, *f, error);
        if (rc == SSH_AUTH_ERROR) {
            g_autoptr(GError) agent_error = NULL;

            if (!qm_agent_relay_stop(agent, elapsed_s(c), &agent_error)) {
                g_clear_error(error);
                g_propagate_error(error, g_steal_pointer(&agent_error));
            }
            return FALSE;
        }
    }
    /* an agent that did not answer in time is why, whatever libssh says */
    if (!qm_agent_relay_stop(agent, elapsed_s(c), error))
        return FALSE;
    if (rc == SSH_AUTH_SUCCESS)
        return TRUE;

    methods = auth_methods(c->session);
    /* libssh asks for a passphrase only for a key it must load */
    if (note == NULL && c->locked_keys > 0)
        note = g_strdup("the key the server accepts is passphrase-protected "
                        "and qemu-mig never asks: load it into ssh-agent");
    g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                "%s: SSH authentication failed (publickey) as %s (server "
                "%s: %s)%s%s",
                c->dest, c->cfg->user,
                rc == SSH_AUTH_PARTIAL ? "wants more than a key" : "allows",
                methods, note != NULL ? "; " : "", note != NULL ? note : "");
    return FALSE;
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
        return conn_fail(c, "cannot create an SSH channel", error);

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
        if (!conn_wait(c, "while opening an SSH channel", error))
            return FALSE;
    }
    if (rc != SSH_OK)
        return conn_fail(c, "cannot open an SSH channel", error);

    while ((rc = ssh_channel_request_exec(c->channel, command)) == SSH_AGAIN) {
        if (!conn_wait(c, "while starting the remote command", error))
            return FALSE;
    }
    if (rc != SSH_OK)
        return conn_fail(c, "cannot start the remote command", error);
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
                return conn_fail(c, "cannot send input", error);
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
                return conn_fail(c, "cannot send input", error);
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
        if (!conn_wait(c, "while waiting for the remote command", error))
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
    /* POSIX sh, bash, dash, ksh and zsh all run this as meant */
    announced = g_strdup_printf("echo " QM_SSH_PGID_TAG "$$ >&2; %s", command);
    if (!conn_configure(c, error) || !conn_connect(c, error) ||
        !conn_check_host_key(c, error) || !conn_auth(c, options, error) ||
        !conn_exec(c, announced, error) ||
        !conn_io(c, input, input_len, error)) {
        return FALSE;
    }

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
