/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a unix socket or TCP port on a peer, reached through SSH as a
 * local fd.
 *
 * A migration talks to the destination QEMU's QMP monitor, a unix socket
 * on the peer, with nothing installed there but sshd: OpenSSH forwards a
 * "direct-streamlocal@openssh.com" channel to a socket path
 * (AllowStreamLocalForwarding, on by default), as `ssh -L local:remote`
 * does.  The caller gets one end of a local socketpair and talks through
 * it as to any socket (wrapper/monitor.c's qm_monitor_new_fd()); a thread
 * of the forward's own copies bytes between the other end and the
 * channel.  `migrate --tunnel` sends the migration stream the same way,
 * through a "direct-tcpip" channel to the port the destination QEMU
 * listens on at the peer's loopback (AllowTcpForwarding, on by default).
 *
 * libssh sessions are not to be used by two threads at once, so a forward
 * has an SSH connection of its own, used only by its thread once set up:
 * one more handshake (~0.1 s on loopback) buys freedom from locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "../wrapper/error.h"
#include "sshconn.h"
#include "sshforward.h"

/* Bytes moved per read, either way */
#define QM_FWD_CHUNK (64 * 1024)

/* forward_open()'s port for a command rather than a socket */
#define QM_FWD_EXEC (-2)

/* How long the thread sleeps in libssh's poll when nothing happens */
#define QM_FWD_POLL_MS 100

/**
 * QmSshForward - one forwarded socket
 * @dest:    destination as the user wrote it (the connection borrows it)
 * @conn:    the forward's own SSH connection
 * @channel: the direct-streamlocal channel
 * @local:   the thread's end of the socketpair
 * @stop:    pipe: the thread ends when its read end becomes readable
 * @thread:  the thread copying bytes
 */
struct QmSshForward {
    char *dest;
    QmSshConn *conn;
    ssh_channel channel;
    int local;
    int stop[2];
    GThread *thread;
};

/**
 * send_all() - write everything to the local end
 * @fd:  blocking socket
 * @buf: bytes
 * @len: how many
 *
 * Return: TRUE when written; FALSE once the caller's end is gone
 */
static gboolean send_all(int fd, const char *buf, gsize len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        buf += n;
        len -= n;
    }
    return TRUE;
}

/**
 * channel_write_all() - write everything to the channel
 * @f:   forward
 * @buf: bytes
 * @len: how many
 *
 * The session is non-blocking: what the peer's window does not take now
 * is written once libssh has processed a window adjustment.
 *
 * Return: TRUE when written; FALSE when the channel failed
 */
static gboolean channel_write_all(QmSshForward *f, const char *buf, gsize len)
{
    while (len > 0) {
        uint32_t window = ssh_channel_window_size(f->channel);
        int n;

        if (window == 0) {
            if (ssh_event_dopoll(f->conn->event, QM_FWD_POLL_MS) == SSH_ERROR &&
                (ssh_get_status(f->conn->session) &
                 (SSH_CLOSED | SSH_CLOSED_ERROR)))
                return FALSE;
            if (ssh_channel_is_closed(f->channel))
                return FALSE;
            continue;
        }
        n = ssh_channel_write(f->channel, buf, (uint32_t)MIN(len, window));
        if (n == SSH_ERROR)
            return FALSE;
        buf += n;
        len -= n;
    }
    return TRUE;
}

/**
 * pump_loop() - copy bytes both ways until either side is done, or the
 *               forward is freed
 * @data: the forward
 *
 * Return: NULL
 */
static gpointer pump_loop(gpointer data)
{
    QmSshForward *f = data;
    g_autofree char *buf = g_malloc(QM_FWD_CHUNK);
    gboolean local_eof = FALSE;

    for (;;) {
        struct pollfd p[2] = {
            {.fd = f->local, .events = local_eof ? 0 : POLLIN},
            {.fd = f->stop[0], .events = POLLIN},
        };
        int n;

        /* what the peer sent, to the caller */
        while ((n = ssh_channel_read_nonblocking(f->channel, buf, QM_FWD_CHUNK,
                                                 0)) > 0) {
            if (!send_all(f->local, buf, n))
                return NULL;
        }
        if (n == SSH_ERROR || ssh_channel_is_closed(f->channel) ||
            ssh_channel_is_eof(f->channel)) {
            /* the socket on the peer closed: so does ours, for writing */
            shutdown(f->local, SHUT_WR);
            return NULL;
        }
        /* the caller's side, and whether to stop, without blocking */
        if (poll(p, 2, 0) > 0) {
            if (p[1].revents != 0)
                return NULL;
            if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = recv(f->local, buf, QM_FWD_CHUNK, MSG_DONTWAIT);

                if (r > 0 && !channel_write_all(f, buf, r))
                    return NULL;
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    ssh_channel_send_eof(f->channel);
                    local_eof = TRUE;
                }
                continue;
            }
        }
        /* libssh's poll: the session's socket, and ours as extra fds */
        if (ssh_event_dopoll(f->conn->event, QM_FWD_POLL_MS) == SSH_ERROR &&
            (ssh_get_status(f->conn->session) &
             (SSH_CLOSED | SSH_CLOSED_ERROR)))
            return NULL;
    }
}

/**
 * pump() - the forward's thread
 * @data: the forward
 *
 * However it ends (the peer's side closed, the connection lost, freed),
 * the caller's end then reads end-of-file: a caller watching it learns
 * that the channel is gone without asking libssh, which is this thread's.
 *
 * Return: NULL
 */
static gpointer pump(gpointer data)
{
    QmSshForward *f = data;

    pump_loop(f);
    shutdown(f->local, SHUT_RDWR);
    return NULL;
}

/**
 * wake() - ssh_event fd callback: only waking the poll matters
 * @fd:       fd
 * @revents:  events
 * @userdata: unused
 *
 * Return: 0
 */
static int wake(socket_t fd, int revents, void *userdata)
{
    return 0;
}

/**
 * forward_open() - a channel to a unix socket or a TCP port on a peer,
 *                  and the thread that serves it
 * @dest:     destination, as for qm_ssh_run()
 * @options:  what the user said about SSH, may be NULL
 * @where:    the socket's path on the peer, the host the peer connects
 *            to, or the command it runs
 * @port:     the TCP port, -1 for the unix socket @where, QM_FWD_EXEC for
 *            the command @where
 * @deadline: g_get_monotonic_time() deadline for setting it up
 * @forward:  where to store the forward
 * @fd:       where to store the caller's end
 * @error:    set on failure
 *
 * Return: TRUE on success
 */
static gboolean forward_open(const char *dest, const QmSshOptions *options,
                             const char *where, int port, gint64 deadline,
                             QmSshForward **forward, int *fd, GError **error)
{
    g_autoptr(QmSshForward) f = g_new0(QmSshForward, 1);
    int sv[2];
    int rc;

    f->local = f->stop[0] = f->stop[1] = -1;
    f->dest = g_strdup(dest);
    f->conn = qm_ssh_conn_open(f->dest, options, deadline, error);
    if (f->conn == NULL)
        return FALSE;
    f->channel = ssh_channel_new(f->conn->session);
    if (f->channel == NULL)
        return qm_ssh_conn_fail(f->conn, "cannot create an SSH channel", error);
    for (;;) {
        /* libssh wants an originator address; sshd only logs it */
        rc = port == QM_FWD_EXEC ? ssh_channel_open_session(f->channel)
             : port < 0 ? ssh_channel_open_forward_unix(f->channel, where,
                                                        "127.0.0.1", 0)
                        : ssh_channel_open_forward(f->channel, where, port,
                                                   "127.0.0.1", 0);
        if (rc != SSH_AGAIN)
            break;
        if (!qm_ssh_conn_wait(f->conn, "while opening a forwarding channel",
                              error))
            return FALSE;
    }
    if (rc == SSH_OK && port == QM_FWD_EXEC) {
        while ((rc = ssh_channel_request_exec(f->channel, where)) ==
               SSH_AGAIN) {
            if (!qm_ssh_conn_wait(f->conn, "while starting a command", error))
                return FALSE;
        }
        if (rc != SSH_OK)
            return qm_ssh_conn_fail(f->conn, "cannot run a command", error);
    }
    if (rc != SSH_OK) {
        g_autofree char *what =
            port < 0 ? g_strdup_printf("cannot reach socket %s there (does it "
                                       "exist? does sshd allow stream local "
                                       "forwarding?)",
                                       where)
                     : g_strdup_printf("cannot reach %s port %d from there "
                                       "(does sshd allow TCP forwarding?)",
                                       where, port);

        return qm_ssh_conn_fail(f->conn, what, error);
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, "%s: socketpair: %s",
                    dest, g_strerror(errno));
        return FALSE;
    }
    f->local = sv[1];
    if (!g_unix_open_pipe(f->stop, FD_CLOEXEC, NULL)) {
        close(sv[0]);
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, "%s: pipe: %s", dest,
                    g_strerror(errno));
        return FALSE;
    }
    /* the thread sleeps in libssh's poll: ours must wake it too */
    ssh_event_add_fd(f->conn->event, f->local, POLLIN, wake, NULL);
    ssh_event_add_fd(f->conn->event, f->stop[0], POLLIN, wake, NULL);
    /* set up within the deadline; from now on it lasts as long as needed */
    f->conn->deadline = G_MAXINT64;
    f->thread = g_thread_new("qm-ssh-forward", pump, f);
    *fd = sv[0];
    *forward = g_steal_pointer(&f);
    return TRUE;
}

/**
 * qm_ssh_forward_unix() - reach a unix socket on a peer through SSH
 * @dest:        destination, as for qm_ssh_run()
 * @options:     what the user said about SSH, may be NULL
 * @remote_path: the socket's path on the peer
 * @deadline:    g_get_monotonic_time() deadline for setting it up
 * @forward:     where to store the forward (qm_ssh_forward_free() ends it)
 * @fd:          where to store the caller's end, a close-on-exec stream
 *               socket; the caller closes it
 * @error:       set as for qm_ssh_run(), or QM_ERROR_UNREACHABLE naming
 *               the path when the peer cannot connect to it
 *
 * Return: TRUE on success
 */
gboolean qm_ssh_forward_unix(const char *dest, const QmSshOptions *options,
                             const char *remote_path, gint64 deadline,
                             QmSshForward **forward, int *fd, GError **error)
{
    return forward_open(dest, options, remote_path, -1, deadline, forward, fd,
                        error);
}

/**
 * qm_ssh_forward_tcp() - reach a TCP port the peer can connect to,
 *                        through SSH (a direct-tcpip channel, as `ssh -L`)
 * @dest:     destination, as for qm_ssh_run()
 * @options:  what the user said about SSH, may be NULL
 * @host:     the host the peer connects to, e.g. "127.0.0.1"
 * @port:     the port
 * @deadline: g_get_monotonic_time() deadline for setting it up
 * @forward:  where to store the forward (qm_ssh_forward_free() ends it)
 * @fd:       where to store the caller's end, a close-on-exec stream
 *            socket; the caller closes it
 * @error:    set as for qm_ssh_run(), or QM_ERROR_UNREACHABLE naming the
 *            port when the peer cannot connect to it (OpenSSH's
 *            AllowTcpForwarding, on by default)
 *
 * Return: TRUE on success
 */
gboolean qm_ssh_forward_tcp(const char *dest, const QmSshOptions *options,
                            const char *host, int port, gint64 deadline,
                            QmSshForward **forward, int *fd, GError **error)
{
    g_return_val_if_fail(port > 0 && port < 65536, FALSE);
    return forward_open(dest, options, host, port, deadline, forward, fd,
                        error);
}

/**
 * qm_ssh_forward_exec() - a command on a peer whose stdin and stdout are a
 *                         local fd, for as long as the caller needs it
 * @dest:     destination, as for qm_ssh_run()
 * @options:  what the user said about SSH, may be NULL
 * @command:  shell command
 * @deadline: g_get_monotonic_time() deadline for starting it
 * @forward:  where to store the forward (qm_ssh_forward_free() ends it,
 *            closing the command's stdin)
 * @fd:       where to store the caller's end: writes go to the command's
 *            stdin, its stdout is read (stderr is dropped: redirect it);
 *            end-of-file once the command or the connection ended
 * @error:    set as for qm_ssh_run()
 *
 * A lease: `migrate` starts the destination QEMU from such a command,
 * which kills it again unless told otherwise on stdin, so that a lost
 * connection or a killed qemu-mig (its stdin then reads end-of-file)
 * leaves nothing behind on the peer.
 *
 * Return: TRUE on success
 */
gboolean qm_ssh_forward_exec(const char *dest, const QmSshOptions *options,
                             const char *command, gint64 deadline,
                             QmSshForward **forward, int *fd, GError **error)
{
    return forward_open(dest, options, command, QM_FWD_EXEC, deadline, forward,
                        fd, error);
}

/**
 * qm_ssh_forward_free() - end a forward: its thread, channel, connection
 * @forward: forward, may be NULL
 */
void qm_ssh_forward_free(QmSshForward *forward)
{
    if (forward == NULL)
        return;
    if (forward->thread != NULL) {
        char b = 0;

        while (write(forward->stop[1], &b, 1) < 0 && errno == EINTR)
            ;
        g_thread_join(forward->thread);
    }
    if (forward->conn != NULL && forward->conn->event != NULL) {
        if (forward->local >= 0)
            ssh_event_remove_fd(forward->conn->event, forward->local);
        if (forward->stop[0] >= 0)
            ssh_event_remove_fd(forward->conn->event, forward->stop[0]);
    }
    if (forward->channel != NULL) {
        ssh_channel_close(forward->channel);
        ssh_channel_free(forward->channel);
    }
    qm_ssh_conn_free(forward->conn);
    for (int i = 0; i < 2; i++) {
        if (forward->stop[i] >= 0)
            close(forward->stop[i]);
    }
    if (forward->local >= 0)
        close(forward->local);
    g_free(forward->dest);
    g_free(forward);
}
