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
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "agent.h"
#include "knownhosts.h"
#include "proxy.h"
#include "ssh.h"
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
 * @alias:        the host part of @dest, before ssh_config (%n)
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
    char *alias;
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
    g_free(c->alias);
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
 * valid_name() - check a host or user name from the command line
 * @s: name
 *
 * Whitespace and control characters can only come from a quoting mistake,
 * and a leading '-' would look like an option to any tool it reaches.
 * Shell metacharacters are refused as ssh(1) refuses them: an ssh_config
 * ProxyCommand (or Match exec) hands %h and %r to /bin/sh.
 *
 * Return: TRUE if @s is non-empty and free of those
 */
static gboolean valid_name(const char *s)
{
    if (s[0] == '\0' || s[0] == '-')
        return FALSE;
    for (const char *p = s; *p != '\0'; p++) {
        if (g_ascii_isspace(*p) || g_ascii_iscntrl(*p) ||
            strchr("'`\"$\\;&<>|(){}", *p) != NULL)
            return FALSE;
    }
    return TRUE;
}

/**
 * dest_split() - split "[user@]host[:port]", "[user@][v6addr][:port]" or
 *                "[user@]alias"
 * @dest:  destination without any "ssh://"
 * @shown: the destination as the user wrote it, for messages
 * @user:  set to the user name, NULL when @dest names none
 * @host:  set to the host name, address or ssh_config Host alias
 * @port:  set to the port, 0 when @dest names none
 * @error: set to a QM_ERROR_USAGE error on failure
 *
 * An unbracketed IPv6 address has several colons: like ssh(1), take it
 * all as the host instead of guessing which colon starts a port.  The last
 * '@' separates the user, as user names may contain '@' and hosts not.
 *
 * Return: TRUE on success
 */
static gboolean dest_split(const char *dest, const char *shown, char **user,
                           char **host, int *port, GError **error)
{
    g_autofree char *u = NULL;
    g_autofree char *h = NULL;
    const char *at = strrchr(dest, '@');
    const char *rest = dest;
    const char *port_str = NULL;
    guint64 port_num = 0;

    if (at != NULL) {
        u = g_strndup(dest, at - dest);
        rest = at + 1;
    }
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');

        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: invalid destination: expected [address] or "
                        "[address]:port",
                        shown);
            return FALSE;
        }
        h = g_strndup(rest + 1, close - rest - 1);
        if (close[1] == ':')
            port_str = close + 2;
    } else {
        const char *colon = strchr(rest, ':');

        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            h = g_strndup(rest, colon - rest);
            port_str = colon + 1;
        } else {
            h = g_strdup(rest);
        }
    }

    if (u != NULL && !valid_name(u)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: invalid destination: bad user name", shown);
        return FALSE;
    }
    if (!valid_name(h) || strpbrk(h, "@[]/") != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: invalid destination: bad host name", shown);
        return FALSE;
    }
    if (port_str != NULL &&
        !g_ascii_string_to_unsigned(port_str, 10, 1, 65535, &port_num, NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: invalid destination: port must be 1 to 65535", shown);
        return FALSE;
    }

    *user = g_steal_pointer(&u);
    *host = g_steal_pointer(&h);
    *port = (int)port_num;
    return TRUE;
}

/**
 * dest_parse() - split a destination as the user wrote it: see
 *                dest_split(), or "ssh://[user@]host[:port]" as ssh(1)
 *                takes it
 * @dest:  destination as the user wrote it
 * @user:  set to the user name, NULL when @dest names none
 * @host:  set to the host name, address or ssh_config Host alias
 * @port:  set to the port, 0 when @dest names none
 * @error: set to a QM_ERROR_USAGE error on failure
 *
 * Return: TRUE on success
 */
static gboolean dest_parse(const char *dest, char **user, char **host,
                           int *port, GError **error)
{
    /* ssh(1) also takes ssh://[user@]host[:port], with no path */
    if (g_str_has_prefix(dest, "ssh://")) {
        g_autofree char *bare = g_strdup(dest + strlen("ssh://"));
        char *slash = strchr(bare, '/');

        if ((slash != NULL && slash[1] != '\0') ||
            g_str_has_prefix(bare, "ssh://")) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: invalid destination: an ssh:// address is "
                        "ssh://[user@]host[:port]",
                        dest);
            return FALSE;
        }
        if (slash != NULL)
            *slash = '\0';
        return dest_split(bare, dest, user, host, port, error);
    }
    return dest_split(dest, dest, user, host, port, error);
}

/**
 * home_path() - a file name from the command line, "~" being $HOME
 * @path: file name
 *
 * Return: newly allocated file name
 */
static char *home_path(const char *path)
{
    if (strcmp(path, "~") == 0 || g_str_has_prefix(path, "~/"))
        return g_build_filename(g_get_home_dir(), path + 1, NULL);
    return g_strdup(path);
}

/**
 * libssh_path() - turn a file name from the command line into one libssh
 *                 reads back unchanged
 * @path: file name
 *
 * libssh runs most file options through its %-escape expansion and
 * expands a leading '~' from the passwd entry, not $HOME: double every
 * '%' and expand '~' ourselves so the file the user named is the one read.
 *
 * Return: newly allocated file name
 */
static char *libssh_path(const char *path)
{
    g_autofree char *expanded = home_path(path);
    g_auto(GStrv) parts = g_strsplit(expanded, "%", -1);

    return g_strjoinv("%%", parts);
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
 * config_trusted() - refuse an ssh_config others could have written
 * @c:      connection (for messages)
 * @config: --ssh-config, or NULL for the user's ~/.ssh/config
 * @error:  set to a QM_ERROR_USAGE error naming the file
 *
 * An ssh_config runs commands (ProxyCommand, Match exec, LocalCommand) as
 * the user qemu-mig runs as, often root: ssh(1) refuses a user config
 * owned by someone else or writable by group or others ("Bad owner or
 * permissions"), and so does qemu-mig.  A missing ~/.ssh/config is fine.
 *
 * Return: TRUE when the file may be read
 */
static gboolean config_trusted(const QmSshConn *c, const char *config,
                               GError **error)
{
    g_autofree char *user_config = NULL;
    struct stat st;

    if (config == NULL) {
        user_config =
            g_build_filename(g_get_home_dir(), ".ssh", "config", NULL);
        config = user_config;
    }
    if (stat(config, &st) < 0)
        return TRUE;
    if ((st.st_uid != 0 && st.st_uid != getuid()) || (st.st_mode & 022)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: bad owner or permissions on ssh_config %s "
                    "(writable by others, or someone else's): refused, as "
                    "ssh(1) refuses it",
                    c->dest, config);
        return FALSE;
    }
    return TRUE;
}

/**
 * conn_configure() - set every libssh option for the destination
 * @c:       connection with a fresh session
 * @options: what the user said about SSH, may be NULL
 * @error:   set on failure
 *
 * Return: TRUE on success
 */
static gboolean conn_configure(QmSshConn *c, const QmSshOptions *options,
                               GError **error)
{
    static const QmSshOptions no_options;
    ssh_session s = c->session;
    g_autofree char *user = NULL;
    g_autofree char *host = NULL;
    g_autofree char *ssh_dir = NULL;
    g_autofree char *config = NULL;
    int port = 0;
    bool process_config = false;
    int strict = 1;
    gint64 left;
    long timeout, timeout_usec;

    if (options == NULL)
        options = &no_options;
    if (!dest_parse(c->dest, &user, &host, &port, error))
        return FALSE;
    c->alias = g_strdup(host);

    /*
     * libssh finds ~ through getpwuid(), but HOME is what the user (and
     * every test) controls: point the .ssh directory, hence the default
     * config, known_hosts and identities (all "%d/..."), at $HOME/.ssh
     * before anything is derived from it.
     */
    ssh_dir = g_build_filename(g_get_home_dir(), ".ssh", NULL);
    if (ssh_options_set(s, SSH_OPTIONS_SSH_DIR, ssh_dir) < 0 ||
        ssh_options_set(s, SSH_OPTIONS_HOST, host) < 0) {
        return conn_fail(c, "cannot set SSH options", error);
    }
    /* Set before parsing too, so that Match/Host see the final values */
    if ((user != NULL && ssh_options_set(s, SSH_OPTIONS_USER, user) < 0) ||
        (port != 0 && ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0)) {
        return conn_fail(c, "cannot set SSH options", error);
    }

    if (options->ssh_config != NULL) {
        int err = 0;

        /* libssh silently skips a config file it cannot open */
        if (g_file_test(options->ssh_config, G_FILE_TEST_IS_DIR))
            err = EISDIR;
        else if (access(options->ssh_config, R_OK) < 0)
            err = errno;
        if (err != 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: cannot read ssh_config %s: %s", c->dest,
                        options->ssh_config, g_strerror(err));
            return FALSE;
        }
        config = libssh_path(options->ssh_config);
    }
    if (!config_trusted(c, options->ssh_config, error))
        return FALSE;
    /* NULL: %d/config, then /etc/ssh/ssh_config, as ssh(1) does.  A
     * config that cannot be parsed is the user's to fix, not an outage:
     * never a reason to fall back to a stale profile */
    if (ssh_options_parse_config(s, config) < 0) {
        g_autofree char *why = one_line(ssh_get_error(s));

        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: cannot use ssh_config %s: %s", c->dest,
                    options->ssh_config ? options->ssh_config
                                        : "(~/.ssh/config or "
                                          "/etc/ssh/ssh_config)",
                    why);
        return FALSE;
    }
    /* Already parsed: ssh_connect() must not parse the defaults again */
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config);

    /*
     * What the destination says explicitly beats any ssh_config.  libssh
     * 0.10's parser happens to keep a User or Port set before it runs;
     * setting them again does not depend on that.
     */
    if ((user != NULL && ssh_options_set(s, SSH_OPTIONS_USER, user) < 0) ||
        (port != 0 && ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0)) {
        return conn_fail(c, "cannot set SSH options", error);
    }

    if (options->known_hosts != NULL) {
        g_autofree char *file = libssh_path(options->known_hosts);

        /*
         * libssh accepts a key vouched for by either the user's or the
         * global known_hosts file.  A user naming a file wants host keys
         * checked against that file: a key missing from it must not slip
         * through because /etc/ssh/ssh_known_hosts (or a
         * GlobalKnownHostsFile from ssh_config) happens to list it.  So
         * the global slot gets the same file rather than "/dev/null":
         * checking a file twice is harmless, and needs no device node.
         */
        if (ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, file) < 0 ||
            ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, file) < 0) {
            return conn_fail(c, "cannot set SSH options", error);
        }
    }
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
 * conn_proxy_command() - the command that reaches the peer, if any
 * @c:       configured connection
 * @options: the user's SSH options, may be NULL
 *
 * A ProxyJump (which libssh 0.10 stores as a ProxyCommand of its own
 * making) becomes the ssh(1) command with ssh's hop order, BatchMode,
 * and the user's -F (proxy.c); a ProxyCommand the user wrote is theirs.
 *
 * Return: the unexpanded command, newly allocated, or NULL when the peer
 * is reached directly
 */
static char *conn_proxy_command(const QmSshConn *c, const QmSshOptions *options)
{
    g_autoptr(QmSshChars) proxy = NULL;
    char *jump;

    if (ssh_options_get(c->session, SSH_OPTIONS_PROXYCOMMAND, &proxy) !=
            SSH_OK ||
        proxy == NULL || g_ascii_strcasecmp(proxy, "none") == 0)
        return NULL;
    jump = qm_proxy_jump_command(proxy, options ? options->ssh_config : NULL,
                                 options ? options->known_hosts : NULL);
    return jump != NULL ? jump : g_strdup(proxy);
}

/**
 * conn_start_proxy() - run the ProxyCommand and hand its socket to libssh
 * @c:       configured connection
 * @command: unexpanded command from conn_proxy_command()
 * @host:    HostName after ssh_config
 * @port:    port after ssh_config
 * @error:   set on failure
 *
 * Return: TRUE when the command runs and libssh has its socket
 */
static gboolean conn_start_proxy(QmSshConn *c, const char *command,
                                 const char *host, unsigned int port,
                                 GError **error)
{
    g_autoptr(QmSshChars) user = NULL;
    g_autofree char *expanded = NULL;
    QmProxyTarget target = {
        .host = host,
        .alias = c->alias,
        .port = (int)port,
    };
    int fd = -1;

    if (ssh_options_get(c->session, SSH_OPTIONS_USER, &user) != SSH_OK)
        user = NULL;
    target.user = user != NULL ? user : g_get_user_name();
    expanded = qm_proxy_expand(c->dest, command, &target, error);
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
 * @c:       configured connection
 * @options: the user's SSH options, may be NULL
 * @error:   set on failure
 *
 * Return: TRUE once the key exchange is complete
 */
static gboolean conn_connect(QmSshConn *c, const QmSshOptions *options,
                             GError **error)
{
    g_autoptr(QmSshChars) host = NULL;
    g_autofree char *proxy = NULL;
    g_autofree char *what = NULL;
    unsigned int port = 22;
    int rc;

    ssh_options_get(c->session, SSH_OPTIONS_HOST, &host);
    ssh_options_get_port(c->session, &port);
    what = g_strdup_printf("cannot connect to %s port %u",
                           host != NULL ? host : "?", port);

    if (g_get_monotonic_time() >= c->deadline)
        return conn_timeout(c, "before connecting", error);
    if (host == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: no host name to connect to", c->dest);
        return FALSE;
    }

    /* A ProxyCommand reaches the peer its own way (and may know names we
     * cannot resolve); otherwise resolve and connect within the deadline */
    proxy = conn_proxy_command(c, options);
    if (proxy != NULL) {
        if (!conn_start_proxy(c, proxy, host, port, error))
            return FALSE;
    } else {
        socket_t fd;

        if (!qm_tcp_connect(c->dest, host, port, c->deadline, &fd, error))
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
 * known_hosts_files() - the known_hosts files to read, as ssh(1) reads them
 * @c:       configured connection
 * @options: the user's SSH options, may be NULL
 *
 * --known-hosts alone when given.  Otherwise ssh_config's (or the
 * default) user file and global file, and with each default its "2"
 * sibling, which ssh(1) reads too (~/.ssh/known_hosts2,
 * /etc/ssh/ssh_known_hosts2).
 *
 * Return: new NULL-terminated list
 */
static GStrv known_hosts_files(const QmSshConn *c, const QmSshOptions *options)
{
    g_autoptr(GStrvBuilder) files = g_strv_builder_new();
    g_autoptr(QmSshChars) user = NULL;
    g_autoptr(QmSshChars) global = NULL;
    g_autofree char *user_default =
        g_build_filename(g_get_home_dir(), ".ssh", "known_hosts", NULL);
    g_autofree char *user_default2 = g_strconcat(user_default, "2", NULL);
    static const char global_default[] = "/etc/ssh/ssh_known_hosts";

    if (options != NULL && options->known_hosts != NULL) {
        g_autofree char *file = home_path(options->known_hosts);

        g_strv_builder_add(files, file);
        return g_strv_builder_end(files);
    }
    if (ssh_options_get(c->session, SSH_OPTIONS_KNOWNHOSTS, &user) != SSH_OK)
        user = NULL;
    if (ssh_options_get(c->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, &global) !=
        SSH_OK)
        global = NULL;
    g_strv_builder_add(files, user != NULL ? user : user_default);
    if (user == NULL || strcmp(user, user_default) == 0)
        g_strv_builder_add(files, user_default2);
    g_strv_builder_add(files, global != NULL ? global : global_default);
    if (global == NULL || strcmp(global, global_default) == 0)
        g_strv_builder_add(files, "/etc/ssh/ssh_known_hosts2");
    return g_strv_builder_end(files);
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
static gboolean conn_check_host_key(QmSshConn *c, const QmSshOptions *options,
                                    GError **error)
{
    g_autoptr(QmSshChars) host = NULL;
    g_autoptr(QmSshKey) server_key = NULL;
    g_autofree char *blob = NULL;
    g_autofree char *name = NULL;
    g_autofree char *key = NULL;
    g_autofree char *where = NULL;
    g_autofree char *list = NULL;
    g_auto(GStrv) files = known_hosts_files(c, options);
    unsigned int port = 22;
    const char *type;

    ssh_options_get(c->session, SSH_OPTIONS_HOST, &host);
    ssh_options_get_port(c->session, &port);
    name = qm_known_hosts_name(host != NULL ? host : "?", port);
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

        for (char **f = files; *f != NULL; f++)
            g_string_append_printf(names, "%s%s%s", names->len ? ", " : "", *f,
                                   g_file_test(*f, G_FILE_TEST_EXISTS)
                                       ? ""
                                       : " (which does not exist)");
        list = g_string_free(g_steal_pointer(&names), FALSE);
    }

    switch (qm_known_hosts_check((const char *const *)files, name, type, blob,
                                 &where)) {
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
 * auth_identity() - try the key file the user named, before anything else
 * @c:        connection past host key checking
 * @identity: private key file
 * @note:     set to why the file could not be used, if it could not
 * @error:    set on a connection failure
 *
 * Not handed to libssh as SSH_OPTIONS_ADD_IDENTITY: with that,
 * ssh_userauth_publickey_auto() would try every ssh-agent key first, and
 * the key the user asked for might never be tried once the server's
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
 * auth_auto_abandon() - end an unfinished ssh_userauth_publickey_auto()
 * @c: connection whose wait for the server's answer failed
 *
 * libssh 0.10 keeps that call's state (and the public key it offered)
 * until the call returns something other than SSH_AUTH_AGAIN; ssh_free()
 * frees the state but not the key.  So cut the connection under it and
 * let the call fail once, which frees both: the socket is shut down, and
 * the non-blocking call sees EOF at once.
 */
static void auth_auto_abandon(QmSshConn *c)
{
    socket_t fd = ssh_get_fd(c->session);

    if (fd == SSH_INVALID_SOCKET)
        return;
    shutdown(fd, SHUT_RDWR);
    for (int i = 0; i < 4 && ssh_userauth_publickey_auto(
                                 c->session, NULL, NULL) == SSH_AUTH_AGAIN;
         i++)
        ;
}

/**
 * conn_auth() - authenticate with public keys only, never prompting
 * @c:       connection past host key checking
 * @options: what the user said about SSH, may be NULL
 * @error:   set on failure
 *
 * Return: TRUE once authenticated
 */
static gboolean conn_auth(QmSshConn *c, const QmSshOptions *options,
                          GError **error)
{
    g_autoptr(QmSshChars) user = NULL;
    g_autofree char *note = NULL;
    g_autofree char *methods = NULL;
    g_autoptr(QmAgentRelay) agent = NULL;
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

    /* ssh-agent (SSH_AUTH_SOCK), then IdentityFile or the default keys;
     * the agent through our relay, which bounds its answers (agent.c) */
    if (!qm_agent_relay_start(c->dest, c->deadline, &agent, &agent_fd, error))
        return FALSE;
    if (agent_fd >= 0 && ssh_set_agent_socket(c->session, agent_fd) != SSH_OK) {
        close(agent_fd);
        g_clear_pointer(&agent, qm_agent_relay_free);
    }
    while ((rc = ssh_userauth_publickey_auto(c->session, NULL, NULL)) ==
           SSH_AUTH_AGAIN) {
        if (!conn_wait(c, "while authenticating", error)) {
            g_autoptr(GError) agent_error = NULL;

            /* the agent's silence, if that is what used up the time */
            if (!qm_agent_relay_stop(agent, elapsed_s(c), &agent_error)) {
                g_clear_error(error);
                g_propagate_error(error, g_steal_pointer(&agent_error));
            }
            auth_auto_abandon(c);
            return FALSE;
        }
    }
    /* an agent that did not answer in time is why, whatever libssh says */
    if (!qm_agent_relay_stop(agent, elapsed_s(c), error))
        return FALSE;
    if (rc == SSH_AUTH_SUCCESS)
        return TRUE;
    if (rc == SSH_AUTH_ERROR)
        return conn_fail(c, "SSH authentication failed", error);

    ssh_options_get(c->session, SSH_OPTIONS_USER, &user);
    methods = auth_methods(c->session);
    /* libssh asks for a passphrase only for a key the server accepts */
    if (note == NULL && c->locked_keys > 0)
        note = g_strdup("the key the server accepts is passphrase-protected "
                        "and qemu-mig never asks: load it into ssh-agent");
    g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                "%s: SSH authentication failed (publickey) as %s (server "
                "%s: %s)%s%s",
                c->dest, user != NULL ? user : "?",
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
    /* POSIX sh, bash, dash, ksh and zsh all run this as meant */
    announced = g_strdup_printf("echo " QM_SSH_PGID_TAG "$$ >&2; %s", command);
    if (!conn_configure(c, options, error) ||
        !conn_connect(c, options, error) ||
        !conn_check_host_key(c, options, error) ||
        !conn_auth(c, options, error) || !conn_exec(c, announced, error) ||
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

/**
 * qm_ssh_resolve() - what a destination means after ssh_config, without
 *                    connecting
 * @dest:    destination as the user wrote it
 * @options: SSH options (may be NULL)
 * @user:    where to store the user name
 * @host:    where to store the host name or address (HostName applied)
 * @port:    where to store the port
 * @route:   where to store the ProxyCommand (or ProxyJump) that reaches
 *           it, NULL when it is reached directly
 * @error:   set on an unparseable destination or unreadable ssh_config
 *
 * The cache is keyed by this, so that a launch whose every profile is
 * cached opens no connection at all.
 *
 * Return: TRUE on success
 */
gboolean qm_ssh_resolve(const char *dest, const QmSshOptions *options,
                        char **user, char **host, int *port, char **route,
                        GError **error)
{
    g_autoptr(QmSshConn) c = g_new0(QmSshConn, 1);
    char *value = NULL;
    unsigned int p = 0;

    /* nothing is sent: the deadline only bounds libssh's own timeouts */
    if (!conn_init(c, dest, g_get_monotonic_time() + G_USEC_PER_SEC, 0,
                   error) ||
        !conn_configure(c, options, error))
        return FALSE;

    if (ssh_options_get(c->session, SSH_OPTIONS_HOST, &value) != SSH_OK) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: cannot resolve the host name", dest);
        return FALSE;
    }
    *host = g_strdup(value);
    ssh_string_free_char(value);
    if (ssh_options_get(c->session, SSH_OPTIONS_USER, &value) == SSH_OK) {
        *user = g_strdup(value);
        ssh_string_free_char(value);
    } else {
        *user = g_strdup(g_get_user_name());
    }
    ssh_options_get_port(c->session, &p);
    *port = p ? (int)p : 22;
    /* the command we would run: a ProxyJump in ssh(1)'s hop order */
    *route = conn_proxy_command(c, options);
    return TRUE;
}
