/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a TCP connection to a peer, name resolution included, within a
 * deadline.
 *
 * libssh resolves the peer's name with a plain getaddrinfo() inside
 * ssh_connect(), even in non-blocking mode: a DNS server that does not
 * answer holds the caller for the resolver's own timeouts (5 s per try and
 * server in glibc), whatever --timeout says.  So qemu-mig resolves and
 * connects itself and hands libssh the connected socket (SSH_OPTIONS_FD);
 * libssh still knows the peer by name, for known_hosts.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "../wrapper/error.h"
#include "../wrapper/interrupt.h"
#include "tcp.h"

/**
 * Lookup - one getaddrinfo() call, in a thread of its own
 * @refs:   one for the thread, one for the waiter
 * @host:   name or address to resolve
 * @port:   port, as getaddrinfo()'s service
 * @family: AF_UNSPEC, AF_INET or AF_INET6 (ssh_config's AddressFamily)
 * @lock:   protects the fields below
 * @cond:   signalled when @done is set
 * @done:   getaddrinfo() returned
 * @rc:     its return value
 * @result: its addresses (owned; freeaddrinfo())
 *
 * A waiter that gives up just drops its reference: the thread cannot be
 * cancelled, so it frees the lookup whenever getaddrinfo() returns, or
 * vanishes with the process (exit, or QEMU's execve()).
 */
typedef struct {
    gint refs;
    char *host;
    char *port;
    int family;
    GMutex lock;
    GCond cond;
    gboolean done;
    int rc;
    struct addrinfo *result;
} Lookup;

/**
 * lookup_unref() - drop one reference to a Lookup
 * @l: the lookup
 */
static void lookup_unref(Lookup *l)
{
    if (!g_atomic_int_dec_and_test(&l->refs))
        return;
    if (l->result != NULL)
        freeaddrinfo(l->result);
    g_free(l->host);
    g_free(l->port);
    g_mutex_clear(&l->lock);
    g_cond_clear(&l->cond);
    g_free(l);
}

/**
 * lookup_thread() - body of the resolving thread
 * @data: the Lookup
 *
 * Return: NULL
 */
static gpointer lookup_thread(gpointer data)
{
    Lookup *l = data;
    const struct addrinfo hints = {
        .ai_family = l->family,
        .ai_socktype = SOCK_STREAM,
        .ai_protocol = IPPROTO_TCP,
    };
    struct addrinfo *result = NULL;
    int rc = getaddrinfo(l->host, l->port, &hints, &result);

    g_mutex_lock(&l->lock);
    l->rc = rc;
    l->result = result;
    l->done = TRUE;
    g_cond_signal(&l->cond);
    g_mutex_unlock(&l->lock);
    lookup_unref(l);
    return NULL;
}

/**
 * resolve() - getaddrinfo(), bounded by a deadline and interruptions
 * @who:      first word of messages
 * @host:     name or address
 * @port:     port
 * @deadline: g_get_monotonic_time() deadline
 * @result:   set to the addresses (freeaddrinfo())
 * @error:    set on failure
 *
 * Return: TRUE on success
 */
static gboolean resolve(const char *who, const char *host, unsigned int port,
                        int family, gint64 deadline, struct addrinfo **result,
                        GError **error)
{
    Lookup *l = g_new0(Lookup, 1);
    g_autoptr(GError) spawn_error = NULL;
    gint64 start = g_get_monotonic_time();
    GThread *thread;
    gboolean ok = FALSE;

    l->refs = 2;
    l->host = g_strdup(host);
    l->port = g_strdup_printf("%u", port);
    l->family = family;
    g_mutex_init(&l->lock);
    g_cond_init(&l->cond);
    thread = g_thread_try_new("resolve", lookup_thread, l, &spawn_error);
    if (thread == NULL) {
        l->refs = 1;
        lookup_unref(l);
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot start a thread to resolve %s: %s", who, host,
                    spawn_error->message);
        return FALSE;
    }
    g_thread_unref(thread);

    g_mutex_lock(&l->lock);
    while (!l->done && !qm_interrupt_pending() &&
           g_get_monotonic_time() < deadline)
        g_cond_wait_until(&l->cond, &l->lock,
                          g_get_monotonic_time() +
                              qm_interrupt_poll_ms(deadline) * 1000);
    if (!l->done) {
        if (qm_interrupt_check(who, error))
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        "%s: timed out after %.1f s resolving %s", who,
                        (g_get_monotonic_time() - start) / 1e6, host);
    } else if (l->rc != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: cannot resolve %s: %s", who, host,
                    l->rc == EAI_SYSTEM ? g_strerror(errno)
                                        : gai_strerror(l->rc));
    } else {
        *result = g_steal_pointer(&l->result);
        ok = TRUE;
    }
    g_mutex_unlock(&l->lock);
    lookup_unref(l);
    return ok;
}

/**
 * connect_one() - a non-blocking connect() to one address, waited for
 * @ai:       the address
 * @deadline: g_get_monotonic_time() deadline
 * @fd:       set to the connected socket, in blocking mode, close-on-exec
 *
 * Return: 0 on success, else the errno that ended the attempt (ETIMEDOUT
 * at the deadline, EINTR when interrupted)
 */
static int connect_one(const struct addrinfo *ai, gint64 deadline, int *fd)
{
    int s =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);
    int err = 0, one = 1;
    socklen_t len = sizeof(err);

    if (s < 0)
        return errno;
    if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            err = errno;
            close(s);
            return err;
        }
        for (;;) {
            struct pollfd pfd = {.fd = s, .events = POLLOUT};
            int n;

            if (qm_interrupt_pending() || g_get_monotonic_time() >= deadline) {
                close(s);
                return qm_interrupt_pending() ? EINTR : ETIMEDOUT;
            }
            n = poll(&pfd, 1, qm_interrupt_poll_ms(deadline));
            if (n > 0)
                break;
            if (n < 0 && errno != EINTR) {
                err = errno;
                close(s);
                return err;
            }
        }
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0) {
            close(s);
            return err;
        }
    }
    /* libssh expects a blocking socket, as its own connect leaves it */
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK);
    /*
     * libssh applies SSH_OPTIONS_NODELAY only to sockets it connects
     * itself.  A probe is a handful of small round trips: with Nagle on,
     * each waits for the peer's delayed ACK (99 -> 151 ms in bench/).
     */
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *fd = s;
    return 0;
}

/**
 * qm_tcp_connect() - resolve @host and connect to it, all within @deadline
 * @who:      first word of messages (the destination as written)
 * @host:     name or address, as ssh_config's HostName left it
 * @port:     port
 * @options:  ssh_config's AddressFamily and ConnectTimeout, may be NULL
 * @deadline: g_get_monotonic_time() deadline
 * @fd:       set to the connected socket (blocking, close-on-exec)
 * @error:    set with QM_ERROR_UNREACHABLE on failure (QM_ERROR_FAILED
 *            when interrupted)
 *
 * Each address getaddrinfo() gives is tried in turn, as ssh(1) does,
 * each within its share of the time left, and within ConnectTimeout.
 *
 * Return: TRUE on success
 */
gboolean qm_tcp_connect(const char *who, const char *host, unsigned int port,
                        const QmTcpOptions *options, gint64 deadline, int *fd,
                        GError **error)
{
    static const QmTcpOptions defaults = {.family = AF_UNSPEC};
    struct addrinfo *addrs = NULL;
    int err = ECONNREFUSED;
    gint64 start = g_get_monotonic_time();
    guint left = 0;

    if (g_get_monotonic_time() >= deadline) {
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: timed out before connecting to %s port %u", who, host,
                    port);
        return FALSE;
    }
    if (options == NULL)
        options = &defaults;
    if (!resolve(who, host, port, options->family, deadline, &addrs, error))
        return FALSE;
    for (const struct addrinfo *ai = addrs; ai != NULL; ai = ai->ai_next)
        left++;
    for (const struct addrinfo *ai = addrs; ai != NULL; ai = ai->ai_next) {
        /*
         * An address whose SYNs are dropped (an IPv6 route that goes
         * nowhere) must not use up the whole deadline: each address gets
         * its share of the time left, the last one all of it.
         */
        gint64 now = g_get_monotonic_time();
        gint64 share = deadline > now ? (deadline - now) / left-- : 0;

        /* ssh(1)'s ConnectTimeout holds for each address */
        if (options->connect_timeout_us > 0)
            share = MIN(share, options->connect_timeout_us);

        err = connect_one(ai, now + share, fd);
        if (err == 0 || err == EINTR || g_get_monotonic_time() >= deadline)
            break;
    }
    freeaddrinfo(addrs);
    if (err == 0)
        return TRUE;
    if (err == EINTR && !qm_interrupt_check(who, error))
        return FALSE;
    if (err == ETIMEDOUT)
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: timed out after %.1f s while connecting to %s port "
                    "%u",
                    who, (g_get_monotonic_time() - start) / 1e6, host, port);
    else
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: cannot connect to %s port %u: %s", who, host, port,
                    g_strerror(err));
    return FALSE;
}
