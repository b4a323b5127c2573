/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: ssh-agent requests bounded by the deadline, and interruptible.
 *
 * libssh 0.10 talks to ssh-agent with blocking read()s and write()s on the
 * SSH_AUTH_SOCK socket, retrying on EINTR: an agent that does not answer
 * (gpg-agent waiting for a pinentry, a key added with "ssh-add -c" waiting
 * for confirmation) holds the thread with no deadline, deaf to SIGINT,
 * SIGTERM and SIGHUP.  So libssh gets one end of a socketpair instead
 * (ssh_set_agent_socket()), and a thread of ours relays between it and
 * the agent, watching the deadline and the interrupt flag.  When either
 * ends the wait, the relay closes its end: libssh's read() sees EOF at
 * once, its agent request fails, and the caller reports the timeout or
 * the signal rather than what libssh makes of the EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "agent.h"
#include "../wrapper/error.h"
#include "../wrapper/interrupt.h"

/* Most bytes moved at once; agent messages are far smaller */
#define QM_AGENT_CHUNK 16384

/**
 * enum QmAgentEnd - why the relay stopped
 * @QM_AGENT_RUNNING:     it has not
 * @QM_AGENT_DONE:        libssh or the agent closed, or we were told to stop
 * @QM_AGENT_TIMEOUT:     the deadline passed during a request
 * @QM_AGENT_INTERRUPTED: SIGINT, SIGTERM or SIGHUP came during a request
 */
typedef enum {
    QM_AGENT_RUNNING,
    QM_AGENT_DONE,
    QM_AGENT_TIMEOUT,
    QM_AGENT_INTERRUPTED,
} QmAgentEnd;

/**
 * struct QmAgentRelay - the relay thread and its sockets
 * @dest:     destination, first word of messages
 * @deadline: g_get_monotonic_time() by which a request must be answered
 * @agent:    connected to SSH_AUTH_SOCK
 * @ours:     our end of the socketpair whose other end libssh holds
 * @wake:     pipe that qm_agent_relay_stop() writes to end the thread
 * @thread:   the relay
 * @end:      why it stopped, set by the thread before it returns
 */
struct QmAgentRelay {
    const char *dest;
    gint64 deadline;
    int agent;
    int ours;
    int wake[2];
    GThread *thread;
    QmAgentEnd end;
};

/**
 * copy_some() - move what is readable from one socket to the other
 * @from: readable socket
 * @to:   socket to write it all to
 *
 * Return: FALSE when @from is closed or either side failed
 */
static gboolean copy_some(int from, int to)
{
    char buf[QM_AGENT_CHUNK];
    ssize_t n, done = 0;

    do {
        n = read(from, buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return FALSE;
    while (done < n) {
        ssize_t w = send(to, buf + done, (size_t)(n - done), MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FALSE;
        done += w;
    }
    return TRUE;
}

/**
 * relay_thread() - relay until told to stop, the deadline, or a signal
 * @data: the QmAgentRelay
 *
 * The deadline and signals only matter while a request is outstanding
 * (libssh wrote more than the agent answered); an idle relay just waits
 * to be stopped.  Requests and answers are matched by counting bytes
 * each way, which is enough to tell "waiting for the agent" from "idle".
 *
 * Return: NULL
 */
static gpointer relay_thread(gpointer data)
{
    QmAgentRelay *r = data;
    guint64 asked = 0, answered = 0;
    gboolean stop = FALSE;

    for (;;) {
        struct pollfd fds[3] = {
            {.fd = r->ours, .events = POLLIN},
            {.fd = r->agent, .events = POLLIN},
            {.fd = r->wake[0], .events = POLLIN},
        };
        gboolean waiting = asked > answered;
        int rc;

        /* first, so that a stop that races the deadline still tells */
        if (waiting && qm_interrupt_pending()) {
            r->end = QM_AGENT_INTERRUPTED;
            break;
        }
        if (waiting && g_get_monotonic_time() >= r->deadline) {
            r->end = QM_AGENT_TIMEOUT;
            break;
        }
        if (stop) {
            r->end = QM_AGENT_DONE;
            break;
        }
        rc = poll(fds, G_N_ELEMENTS(fds),
                  waiting ? qm_interrupt_poll_ms(r->deadline) : -1);
        if (rc < 0 && errno != EINTR) {
            r->end = QM_AGENT_DONE;
            break;
        }
        if (rc <= 0)
            continue;
        if (fds[2].revents != 0)
            stop = TRUE;
        /* a request from libssh: count it as asked until answered */
        if (fds[0].revents != 0) {
            if (!copy_some(r->ours, r->agent)) {
                r->end = QM_AGENT_DONE;
                break;
            }
            asked++;
        }
        if (fds[1].revents != 0) {
            if (!copy_some(r->agent, r->ours)) {
                r->end = QM_AGENT_DONE;
                break;
            }
            answered = asked;
        }
    }
    /* libssh's next (or current) read() sees EOF */
    shutdown(r->ours, SHUT_RDWR);
    return NULL;
}

/**
 * qm_agent_relay_start() - put a relay between libssh and ssh-agent
 * @dest:     destination, first word of messages
 * @path:     agent socket (ssh_config's IdentityAgent), NULL for
 *            $SSH_AUTH_SOCK
 * @deadline: g_get_monotonic_time() by which requests must be answered
 * @relay:    set to the running relay, or NULL when there is no agent
 * @fd:       set to the socket for ssh_set_agent_socket(), or -1
 * @error:    set when the relay cannot be set up
 *
 * No SSH_AUTH_SOCK, or an agent socket nobody listens on, is no agent:
 * TRUE with *@relay NULL.  libssh would find none either.
 *
 * Return: TRUE unless a socket or thread could not be made
 */
gboolean qm_agent_relay_start(const char *dest, const char *path,
                              gint64 deadline, QmAgentRelay **relay, int *fd,
                              GError **error)
{
    g_autoptr(QmAgentRelay) r = g_new0(QmAgentRelay, 1);
    g_autoptr(GError) thread_error = NULL;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int sv[2];

    *relay = NULL;
    *fd = -1;
    r->agent = r->ours = r->wake[0] = r->wake[1] = -1;
    r->dest = dest;
    r->deadline = deadline;
    if (path == NULL)
        path = g_getenv("SSH_AUTH_SOCK");
    if (path == NULL || *path == '\0' || strlen(path) >= sizeof(addr.sun_path))
        return TRUE;
    strcpy(addr.sun_path, path);
    /* a local socket: connect() answers at once, listener or not */
    r->agent = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->agent < 0 ||
        connect(r->agent, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return TRUE;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(r->wake, O_CLOEXEC) < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot relay to ssh-agent: %s", dest,
                    g_strerror(errno));
        return FALSE;
    }
    r->ours = sv[0];
    r->thread =
        g_thread_try_new("qemu-mig-agent", relay_thread, r, &thread_error);
    if (r->thread == NULL) {
        close(sv[1]);
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED,
                    "%s: cannot relay to ssh-agent: %s", dest,
                    thread_error->message);
        return FALSE;
    }
    *fd = sv[1];
    *relay = g_steal_pointer(&r);
    return TRUE;
}

/**
 * qm_agent_relay_stop() - end the relay, and say whether it timed out
 * @relay:     relay, may be NULL
 * @elapsed_s: seconds since the connection began, for the message
 * @error:     set with QM_ERROR_UNREACHABLE when the agent did not answer
 *             in time, QM_ERROR_FAILED when a signal came meanwhile
 *
 * Return: TRUE when every request was answered (or there was no agent)
 */
gboolean qm_agent_relay_stop(QmAgentRelay *relay, double elapsed_s,
                             GError **error)
{
    if (relay == NULL || relay->thread == NULL)
        return TRUE;
    while (write(relay->wake[1], "", 1) < 0 && errno == EINTR)
        ;
    g_thread_join(relay->thread);
    relay->thread = NULL;
    switch (relay->end) {
    case QM_AGENT_TIMEOUT:
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    "%s: timed out after %.1f s waiting for ssh-agent "
                    "(SSH_AUTH_SOCK)",
                    relay->dest, elapsed_s);
        return FALSE;
    case QM_AGENT_INTERRUPTED:
        return qm_interrupt_check(relay->dest, error);
    default:
        return TRUE;
    }
}

/**
 * qm_agent_relay_free() - stop the relay if needed, close our sockets
 * @relay: relay, may be NULL
 *
 * libssh's end is libssh's: ssh_free() closes it.
 */
void qm_agent_relay_free(QmAgentRelay *relay)
{
    if (relay == NULL)
        return;
    if (relay->thread != NULL)
        qm_agent_relay_stop(relay, 0, NULL);
    if (relay->agent >= 0)
        close(relay->agent);
    if (relay->ours >= 0)
        close(relay->ours);
    if (relay->wake[0] >= 0)
        close(relay->wake[0]);
    if (relay->wake[1] >= 0)
        close(relay->wake[1]);
    g_free(relay);
}
