/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a small synchronous QMP client for a running QEMU.
 *
 * One connected stream socket, no thread and no main loop: every call
 * writes its commands, then polls until their replies are in or the
 * caller's deadline passes.  QEMU writes exactly one JSON document per
 * line and answers commands in the order it read them, so replies are
 * matched to requests by position and checked by id; events may come
 * between any two lines and are queued for the caller, never taken for a
 * reply.
 *
 * What QEMU writes is parsed as strictly as a peer's probe reply (depth
 * cap, no repeated keys, one bounded document per line): the same client
 * will talk to a QEMU on another host through a forwarded socket.
 *
 * After a timeout, an interruption, a closed connection or a malformed
 * line, the position in the stream is unknown - a late reply would be
 * taken for the next command's - so the monitor refuses every further
 * command with the error that broke it.  A command QEMU itself refused
 * breaks nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "error.h"
#include "interrupt.h"
#include "monitor.h"
#include "profile.h"

/* Bytes asked of read() at a time: a typical reply fits many times over */
#define READ_CHUNK (64 * 1024)

/* Who qm_interrupt_check() names, and the start of every message */
#define WHO "QMP monitor"

/**
 * struct QmMonitor - one QMP connection
 * @fd:      the connected socket, non-blocking and close-on-exec
 * @in:      bytes received; those before @head are consumed
 * @head:    offset of the first unconsumed byte in @in
 * @scanned: unconsumed bytes known to hold no newline, so that a long line
 *           arriving in many reads is not searched again from its start
 * @next_id: number of the last request id handed out
 * @version: QEMU's version from the greeting, "10.0.2"
 * @events:  event documents (JsonNode) not yet taken, oldest first
 * @broken:  copy of the error that left the stream unusable, or NULL
 * @pass_fd: a descriptor to send along with the next bytes written, or -1
 */
struct QmMonitor {
    int fd;
    GByteArray *in;
    gsize head;
    gsize scanned;
    guint64 next_id;
    char *version;
    GQueue events;
    GError *broken;
    int pass_fd;
};

/**
 * node_unref0() - GDestroyNotify for arrays that may hold NULL nodes
 * @node: JsonNode, or NULL
 */
static void node_unref0(gpointer node)
{
    if (node != NULL)
        json_node_unref(node);
}

/**
 * take_line() - cut the next complete line out of the input buffer
 * @mon:   the monitor
 * @what:  what is being waited for, for messages
 * @line:  set to the line (not NUL-terminated, valid until the next
 *         read), or NULL when no complete line is buffered yet
 * @len:   set to its length, newline excluded
 * @error: set with QM_ERROR_PROTOCOL on a line over QM_MONITOR_MAX_LINE
 *
 * The bound holds before the newline arrives, so a peer cannot make us
 * buffer without end by never ending its line.
 *
 * Return: TRUE unless the line is too long
 */
static gboolean take_line(QmMonitor *mon, const char *what, const char **line,
                          gsize *len, GError **error)
{
    const char *start = (const char *)mon->in->data + mon->head;
    gsize avail = mon->in->len - mon->head;
    /* an empty GByteArray has no data at all: memchr() must not see NULL */
    const char *nl = avail > mon->scanned ? memchr(start + mon->scanned, '\n',
                                                   avail - mon->scanned)
                                          : NULL;
    gsize n = nl != NULL ? (gsize)(nl - start) : avail;

    *line = NULL;
    *len = 0;
    if (n > QM_MONITOR_MAX_LINE) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    WHO " sent a line longer than %d bytes while waiting for "
                        "%s",
                    QM_MONITOR_MAX_LINE, what);
        return FALSE;
    }
    if (nl == NULL) {
        mon->scanned = avail;
        return TRUE;
    }
    *line = start;
    *len = n;
    mon->head += n + 1;
    mon->scanned = 0;
    return TRUE;
}

/**
 * next_doc() - the next buffered JSON document, if a whole line is in
 * @mon:   the monitor
 * @what:  what is being waited for, for messages
 * @doc:   set to the document (an object), or NULL when no complete line
 *         is buffered
 * @error: set with QM_ERROR_PROTOCOL on a line that is not exactly one
 *         JSON object, or too long
 *
 * Return: TRUE unless the stream is malformed
 */
static gboolean next_doc(QmMonitor *mon, const char *what, JsonNode **doc,
                         GError **error)
{
    *doc = NULL;
    for (;;) {
        g_autoptr(GError) local = NULL;
        g_autoptr(JsonNode) root = NULL;
        const char *line;
        gsize len;

        if (!take_line(mon, what, &line, &len, error))
            return FALSE;
        if (line == NULL)
            return TRUE;
        /* QEMU ends its lines with CRLF */
        while (len > 0 && g_ascii_isspace(line[len - 1]))
            len--;
        if (len == 0)
            continue;
        if (!qm_profile_json_parse(line, len, &root, &local)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        WHO " sent malformed JSON while waiting for %s: %s",
                        what, local->message);
            return FALSE;
        }
        if (!JSON_NODE_HOLDS_OBJECT(root)) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        WHO " sent a JSON document that is not an object "
                            "while waiting for %s",
                        what);
            return FALSE;
        }
        *doc = g_steal_pointer(&root);
        return TRUE;
    }
}

/**
 * closed() - the error for a connection the peer ended
 * @what:  what was being waited for
 * @error: set with QM_ERROR_UNREACHABLE
 */
static void closed(const char *what, GError **error)
{
    g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                WHO " closed the connection while waiting for %s", what);
}

/**
 * send_with_fd() - send bytes with @mon->pass_fd attached (SCM_RIGHTS)
 * @mon: the monitor, a unix socket
 * @buf: bytes
 * @len: how many (at least one)
 *
 * QEMU's socket chardev keeps the descriptors that came with the bytes it
 * read last, for the command those bytes hold (getfd, add-fd): so they go
 * with the first bytes of that command, once.
 *
 * Return: as send()
 */
static ssize_t send_with_fd(QmMonitor *mon, const char *buf, gsize len)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control = {{0}};
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    ssize_t w;

    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &mon->pass_fd, sizeof(int));
    w = sendmsg(mon->fd, &msg, MSG_NOSIGNAL);
    if (w > 0)
        mon->pass_fd = -1;
    return w;
}

/**
 * pump() - wait once for the socket, then write and read what it allows
 * @mon:      the monitor
 * @out:      requests to write, or NULL
 * @out_len:  their length
 * @sent:     bytes of @out already written; advanced
 * @what:     what is being waited for, for messages
 * @start:    g_get_monotonic_time() when the caller began waiting
 * @deadline: g_get_monotonic_time() limit
 * @error:    set on timeout, interruption, end of stream or I/O error
 *
 * Writing and reading in one poll() means a peer that answers while we
 * are still writing a long pipeline cannot deadlock us, whatever its
 * buffers.  A sleep lasts at most qm_interrupt_poll_ms(), so SIGINT is
 * seen within a slice.  The deadline is checked before waiting, not
 * after, so that what arrived by the deadline is always read and looked
 * at, yet a peer that never stops sending cannot keep us past it.
 *
 * Return: TRUE when the caller should look at the buffer again
 */
static gboolean pump(QmMonitor *mon, const char *out, gsize out_len,
                     gsize *sent, const char *what, gint64 start,
                     gint64 deadline, GError **error)
{
    struct pollfd pfd = {.fd = mon->fd, .events = POLLIN};
    int ready;

    if (!qm_interrupt_check(WHO, error))
        return FALSE;
    if (g_get_monotonic_time() >= deadline) {
        g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                    WHO ": timed out after %.1f s waiting for %s",
                    (deadline - start) / (double)G_USEC_PER_SEC, what);
        return FALSE;
    }
    if (out != NULL && *sent < out_len)
        pfd.events |= POLLOUT;
    ready = poll(&pfd, 1, qm_interrupt_poll_ms(deadline));
    if (ready < 0 && errno != EINTR) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, WHO ": poll: %s",
                    g_strerror(errno));
        return FALSE;
    }
    if (ready <= 0)
        return TRUE;

    if (pfd.revents & POLLOUT) {
        /* MSG_NOSIGNAL: a QEMU that died must not take us with SIGPIPE */
        ssize_t w =
            mon->pass_fd >= 0
                ? send_with_fd(mon, out + *sent, out_len - *sent)
                : send(mon->fd, out + *sent, out_len - *sent, MSG_NOSIGNAL);

        if (w >= 0) {
            *sent += (gsize)w;
        } else if (errno == EPIPE || errno == ECONNRESET) {
            closed(what, error);
            return FALSE;
        } else if (errno != EAGAIN && errno != EINTR) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        WHO ": write failed while sending %s: %s", what,
                        g_strerror(errno));
            return FALSE;
        }
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        guint old;
        ssize_t r;

        if (mon->head > 0) {
            g_byte_array_remove_range(mon->in, 0, mon->head);
            mon->head = 0;
        }
        old = mon->in->len;
        g_byte_array_set_size(mon->in, old + READ_CHUNK);
        r = read(mon->fd, mon->in->data + old, READ_CHUNK);
        g_byte_array_set_size(mon->in, old + (r > 0 ? (guint)r : 0));
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            closed(what, error);
            return FALSE;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        WHO ": read failed while waiting for %s: %s", what,
                        g_strerror(errno));
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * queue_event() - keep an event for qm_monitor_take_events()
 * @mon:   the monitor
 * @event: the event document; ownership taken
 *
 * Bounded: a caller that never takes events must not grow without end
 * on a long connection, and the oldest events are the least useful.
 */
static void queue_event(QmMonitor *mon, JsonNode *event)
{
    if (mon->events.length >= QM_MONITOR_MAX_EVENTS)
        json_node_unref(g_queue_pop_head(&mon->events));
    g_queue_push_tail(&mon->events, event);
}

/**
 * is_event() - whether a document is an asynchronous event
 * @doc: a document from next_doc()
 *
 * Return: TRUE when it has an "event" member
 */
static gboolean is_event(JsonNode *doc)
{
    return json_object_has_member(json_node_get_object(doc), "event");
}

/**
 * append_request() - add one command line to the outgoing buffer
 * @out:       buffer
 * @command:   QMP command name
 * @arguments: its arguments (an object), or NULL
 * @id:        the request's id
 *
 * Built through json-glib, so that no command name or argument can break
 * out of its string or its line.
 */
static void append_request(GString *out, const char *command,
                           JsonNode *arguments, const char *id)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "execute");
    json_builder_add_string_value(builder, command);
    if (arguments != NULL) {
        json_builder_set_member_name(builder, "arguments");
        /* a shallow copy: the caller's node is borrowed, never re-parented */
        json_builder_add_value(builder, json_node_copy(arguments));
    }
    json_builder_set_member_name(builder, "id");
    json_builder_add_string_value(builder, id);
    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    text = json_to_string(root, FALSE);
    g_string_append(out, text);
    g_string_append_c(out, '\n');
}

/**
 * take_reply() - check one reply and keep its result
 * @doc:   the reply document
 * @id:    the id it must carry
 * @what:  "the reply to CMD", for messages
 * @rets:  gets the "return" member (a parentless copy) or NULL
 * @descs: gets QEMU's error description (escaped) or NULL
 * @error: set with QM_ERROR_PROTOCOL on a wrong id or a malformed reply
 *
 * Return: TRUE when the reply is well-formed and is the one expected
 */
static gboolean take_reply(JsonNode *doc, const char *id, const char *what,
                           GPtrArray *rets, GPtrArray *descs, GError **error)
{
    JsonObject *obj = json_node_get_object(doc);
    const char *got = qm_profile_json_string(json_object_get_member(obj, "id"));
    JsonNode *ret = json_object_get_member(obj, "return");
    JsonObject *err = qm_profile_json_object(obj, "error");
    const char *desc =
        err ? qm_profile_json_string(json_object_get_member(err, "desc"))
            : NULL;

    if (got == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    WHO " sent a reply without a string id while waiting "
                        "for %s",
                    what);
        return FALSE;
    }
    if (strcmp(got, id) != 0) {
        g_autofree char *text = qm_profile_json_shown(got);

        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    WHO " sent a reply with id \"%.64s\" while waiting for "
                        "%s (id \"%s\")",
                    text, what, id);
        return FALSE;
    }
    if ((ret == NULL) == (err == NULL) || (err != NULL && desc == NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    WHO " sent %s without exactly one of \"return\" and an "
                        "\"error\" with a description",
                    what);
        return FALSE;
    }
    /* json_node_copy(): the caller's node must not point into this doc */
    g_ptr_array_add(rets, ret ? json_node_copy(ret) : NULL);
    g_ptr_array_add(descs, desc ? qm_profile_json_shown(desc) : NULL);
    return TRUE;
}

/**
 * converse() - write requests and collect their replies in order
 * @mon:       the monitor
 * @n:         number of commands
 * @commands:  command names
 * @arguments: arguments per command (elements may be NULL), or NULL
 * @deadline:  g_get_monotonic_time() limit for all replies
 * @rets:      gets one "return" (or NULL) per command
 * @descs:     gets one error description (or NULL) per command
 * @error:     set on timeout, interruption, end of stream or a malformed
 *             or unexpected line
 *
 * Return: TRUE when every command got its reply
 */
static gboolean converse(QmMonitor *mon, guint n, const char *const *commands,
                         JsonNode *const *arguments, gint64 deadline,
                         GPtrArray *rets, GPtrArray *descs, GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_auto(GStrv) ids = g_new0(char *, n + 1);
    gint64 start = g_get_monotonic_time();
    g_autofree char *what = NULL;
    gsize sent = 0;
    guint got = 0;

    for (guint i = 0; i < n; i++) {
        ids[i] = g_strdup_printf("qm-%" G_GUINT64_FORMAT, ++mon->next_id);
        append_request(out, commands[i], arguments ? arguments[i] : NULL,
                       ids[i]);
    }
    while (got < n || sent < out->len) {
        g_autoptr(JsonNode) doc = NULL;

        if (what == NULL)
            what =
                g_strdup_printf("the reply to %s", commands[MIN(got, n - 1)]);
        if (!next_doc(mon, what, &doc, error))
            return FALSE;
        if (doc == NULL) {
            if (!pump(mon, out->str, out->len, &sent, what, start, deadline,
                      error))
                return FALSE;
            continue;
        }
        if (is_event(doc)) {
            queue_event(mon, g_steal_pointer(&doc));
            continue;
        }
        if (got == n) {
            g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                        WHO " sent a reply nobody asked for");
            return FALSE;
        }
        if (!take_reply(doc, ids[got], what, rets, descs, error))
            return FALSE;
        got++;
        g_clear_pointer(&what, g_free);
    }
    return TRUE;
}

/**
 * usable() - fail when an earlier error left the stream unusable
 * @mon:   the monitor
 * @error: set with a copy of that error's code
 *
 * Return: TRUE when the monitor can take commands
 */
static gboolean usable(QmMonitor *mon, GError **error)
{
    if (mon->broken == NULL)
        return TRUE;
    g_set_error(error, mon->broken->domain, mon->broken->code,
                WHO " unusable after an earlier error: %s",
                mon->broken->message);
    return FALSE;
}

/**
 * qm_monitor_execute_many() - run several commands in one round trip
 * @mon:       the monitor
 * @n:         number of commands
 * @commands:  @n command names
 * @arguments: @n argument objects (each may be NULL, borrowed), or NULL
 *             for none at all
 * @deadline:  g_get_monotonic_time() limit for all the replies
 * @replies:   if not NULL, set to @n nodes: each command's "return" (a new
 *             reference), or NULL where that command failed
 * @errors:    if not NULL, set to @n strings: QEMU's error description
 *             (control characters escaped), or NULL where the command
 *             succeeded
 * @error:     set on timeout or end of stream (QM_ERROR_UNREACHABLE),
 *             interruption (QM_ERROR_FAILED) or a malformed conversation
 *             (QM_ERROR_PROTOCOL); a command QEMU refuses is no error here
 *
 * All requests are written before any reply is awaited: QEMU answers in
 * order, so 500 qom-gets cost one round trip, not 500.
 *
 * Return: TRUE when every command was answered
 */
gboolean qm_monitor_execute_many(QmMonitor *mon, guint n,
                                 const char *const *commands,
                                 JsonNode *const *arguments, gint64 deadline,
                                 GPtrArray **replies, GPtrArray **errors,
                                 GError **error)
{
    g_autoptr(GPtrArray) rets = g_ptr_array_new_full(n, node_unref0);
    g_autoptr(GPtrArray) descs = g_ptr_array_new_full(n, g_free);
    g_autoptr(GError) local = NULL;

    g_return_val_if_fail(mon != NULL, FALSE);
    g_return_val_if_fail(n == 0 || commands != NULL, FALSE);
    for (guint i = 0; arguments != NULL && i < n; i++)
        g_return_val_if_fail(arguments[i] == NULL ||
                                 JSON_NODE_HOLDS_OBJECT(arguments[i]),
                             FALSE);

    if (!usable(mon, error))
        return FALSE;
    if (!converse(mon, n, commands, arguments, deadline, rets, descs, &local)) {
        mon->broken = g_error_copy(local);
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (replies != NULL)
        *replies = g_steal_pointer(&rets);
    if (errors != NULL)
        *errors = g_steal_pointer(&descs);
    return TRUE;
}

/**
 * qm_monitor_execute() - run one command and wait for its reply
 * @mon:       the monitor
 * @command:   QMP command name
 * @arguments: its arguments (an object, borrowed), or NULL
 * @deadline:  g_get_monotonic_time() limit
 * @ret:       if not NULL, set to the reply's "return" (new reference)
 * @error:     as for qm_monitor_execute_many(), and QM_ERROR_QEMU with
 *             "COMMAND: QEMU's description" when QEMU refuses the command
 *
 * Return: TRUE when the command succeeded
 */
gboolean qm_monitor_execute(QmMonitor *mon, const char *command,
                            JsonNode *arguments, gint64 deadline,
                            JsonNode **ret, GError **error)
{
    g_autoptr(GPtrArray) rets = NULL;
    g_autoptr(GPtrArray) descs = NULL;
    const char *desc;

    if (!qm_monitor_execute_many(mon, 1, &command, &arguments, deadline, &rets,
                                 &descs, error))
        return FALSE;
    desc = g_ptr_array_index(descs, 0);
    if (desc != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_QEMU, "%s: %s", command, desc);
        return FALSE;
    }
    if (ret != NULL)
        *ret = g_steal_pointer(&g_ptr_array_index(rets, 0));
    return TRUE;
}

/**
 * qm_monitor_execute_fd() - run one command that takes a descriptor
 * @mon:       the monitor; a unix socket
 * @command:   QMP command name, e.g. "getfd"
 * @arguments: its arguments (an object, borrowed), or NULL
 * @fd:        the descriptor, sent with the command (SCM_RIGHTS); still
 *             the caller's to close: QEMU gets its own copy
 * @deadline:  g_get_monotonic_time() limit
 * @ret:       as for qm_monitor_execute()
 * @error:     as for qm_monitor_execute()
 *
 * Return: TRUE when the command succeeded
 */
gboolean qm_monitor_execute_fd(QmMonitor *mon, const char *command,
                               JsonNode *arguments, int fd, gint64 deadline,
                               JsonNode **ret, GError **error)
{
    gboolean ok;

    mon->pass_fd = fd;
    ok = qm_monitor_execute(mon, command, arguments, deadline, ret, error);
    mon->pass_fd = -1;
    return ok;
}

/**
 * greet() - read QEMU's greeting and leave capabilities negotiation
 * @mon:      a fresh monitor
 * @deadline: g_get_monotonic_time() limit
 * @error:    set when the peer does not speak QMP
 *
 * Return: TRUE when the monitor is in command mode
 */
static gboolean greet(QmMonitor *mon, gint64 deadline, GError **error)
{
    const char *what = "the greeting";
    gint64 start = g_get_monotonic_time();
    g_autoptr(JsonNode) doc = NULL;
    JsonObject *qemu;
    gint64 major, minor, micro;

    while (doc == NULL) {
        if (!next_doc(mon, what, &doc, error))
            return FALSE;
        if (doc == NULL &&
            !pump(mon, NULL, 0, NULL, what, start, deadline, error))
            return FALSE;
    }
    qemu = qm_profile_json_object(
        qm_profile_json_object(
            qm_profile_json_object(json_node_get_object(doc), "QMP"),
            "version"),
        "qemu");
    if (!qm_profile_json_int(qemu, "major", &major) ||
        !qm_profile_json_int(qemu, "minor", &minor) ||
        !qm_profile_json_int(qemu, "micro", &micro)) {
        g_set_error(error, QM_ERROR, QM_ERROR_PROTOCOL,
                    WHO " did not greet with a QMP banner naming QEMU's "
                        "version");
        return FALSE;
    }
    mon->version = g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT
                                   ".%" G_GINT64_FORMAT,
                                   major, minor, micro);
    return qm_monitor_execute(mon, "qmp_capabilities", NULL, deadline, NULL,
                              error);
}

/**
 * qm_monitor_new_fd() - speak QMP on a connected stream socket
 * @fd:       the socket; taken, closed on failure and by qm_monitor_free()
 * @deadline: g_get_monotonic_time() limit for the greeting and
 *            qmp_capabilities
 * @error:    set when the peer does not greet or negotiate in time
 *
 * The fd is made non-blocking (every wait is a poll() bounded by a
 * deadline) and close-on-exec (a QEMU we start later must not hold
 * another QEMU's monitor open).
 *
 * Return: the monitor in command mode, or NULL
 */
QmMonitor *qm_monitor_new_fd(int fd, gint64 deadline, GError **error)
{
    g_autoptr(QmMonitor) mon = NULL;
    int flags;

    g_return_val_if_fail(fd >= 0, NULL);
    mon = g_new0(QmMonitor, 1);
    mon->fd = fd;
    mon->pass_fd = -1;
    mon->in = g_byte_array_new();
    g_queue_init(&mon->events);

    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, WHO ": fcntl: %s",
                    g_strerror(errno));
        return NULL;
    }
    if (!greet(mon, deadline, error))
        return NULL;
    return g_steal_pointer(&mon);
}

/**
 * qm_monitor_connect_unix() - connect to a QMP UNIX socket
 * @path:     the socket, as in QEMU's -qmp unix:PATH,server=on
 * @deadline: g_get_monotonic_time() limit for connecting, the greeting
 *            and qmp_capabilities
 * @error:    QM_ERROR_UNREACHABLE when nothing listens there (no retry:
 *            a caller waiting for QEMU to start retries), or as for
 *            qm_monitor_new_fd()
 *
 * Return: the monitor in command mode, or NULL
 */
QmMonitor *qm_monitor_connect_unix(const char *path, gint64 deadline,
                                   GError **error)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    WHO " socket path is longer than %zu bytes: %s",
                    sizeof(addr.sun_path) - 1, path);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_FAILED, WHO ": socket: %s",
                    g_strerror(errno));
        return NULL;
    }
    /*
     * Non-blocking: QEMU's monitor serves one client at a time and leaves
     * the others in a backlog of one, and a blocking connect() to a full
     * backlog would wait for that other client without any deadline.
     * Linux says EAGAIN then, and the connection is simply retried.
     */
    while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        WHO ": cannot connect to %s: %s", path,
                        g_strerror(errno));
            close(fd);
            return NULL;
        }
        if (!qm_interrupt_check(WHO, error)) {
            close(fd);
            return NULL;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        WHO ": timed out connecting to %s: it serves "
                            "another client",
                        path);
            close(fd);
            return NULL;
        }
        poll(NULL, 0, qm_interrupt_poll_ms(deadline));
    }
    return qm_monitor_new_fd(fd, deadline, error);
}

/**
 * qm_monitor_qemu_version() - QEMU's version as its greeting gave it
 * @mon: the monitor
 *
 * Return: "MAJOR.MINOR.MICRO" (borrowed)
 */
const char *qm_monitor_qemu_version(QmMonitor *mon)
{
    return mon->version;
}

/**
 * qm_monitor_take_events() - the events seen while waiting for replies
 * @mon: the monitor
 *
 * Return: the events (whole documents, JsonNode), oldest first; the list
 * starts empty again (g_ptr_array_unref())
 */
GPtrArray *qm_monitor_take_events(QmMonitor *mon)
{
    GPtrArray *events = g_ptr_array_new_full(mon->events.length,
                                             (GDestroyNotify)json_node_unref);
    JsonNode *event;

    while ((event = g_queue_pop_head(&mon->events)) != NULL)
        g_ptr_array_add(events, event);
    return events;
}

/**
 * qm_monitor_free() - close the connection and free the monitor
 * @mon: the monitor, or NULL
 */
void qm_monitor_free(QmMonitor *mon)
{
    if (mon == NULL)
        return;
    close(mon->fd);
    g_byte_array_unref(mon->in);
    g_free(mon->version);
    g_queue_clear_full(&mon->events, (GDestroyNotify)json_node_unref);
    g_clear_error(&mon->broken);
    g_free(mon);
}
