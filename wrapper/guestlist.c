/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the guests this host's qemu-mig started, read back: `list`,
 * and `migrate` finding its guest.
 *
 * The records are written by guests.c, on the launch path; reading them
 * takes json-glib, which the launch path does not map.  A record is
 * trusted only as far as the cache trusts an entry: a regular file of
 * ours, of a known format, naming its own files.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "error.h"
#include "guestlist.h"

/* A record larger than this is not one of ours. */
#define QM_GUESTS_MAX_RECORD (1024 * 1024)

/*
 * A record without its launcher's start time, whose monitor does not
 * answer yet while the launcher's command line names the socket: QEMU is
 * starting.  Past this age it is not.
 */
#define QM_GUESTS_STARTING_S 60

/**
 * read_record() - read one record, checked as the cache checks entries
 * @dir:   runtime directory
 * @file:  file name in it
 * @guest: where to store the guest
 *
 * Return: TRUE when it is a regular file of ours holding a record
 */
static gboolean read_record(const char *dir, const char *file, QmGuest **guest)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(QmGuest) g = g_new0(QmGuest, 1);
    g_autofree char *text = NULL;
    struct stat st;
    JsonObject *obj;
    JsonNode *root;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return FALSE;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size > QM_GUESTS_MAX_RECORD) {
        close(fd);
        return FALSE;
    }
    text = g_malloc(st.st_size + 1);
    n = read(fd, text, st.st_size);
    close(fd);
    if (n != st.st_size)
        return FALSE;
    text[n] = '\0';
    if (!json_parser_load_from_data(parser, text, n, NULL) ||
        (root = json_parser_get_root(parser)) == NULL ||
        !JSON_NODE_HOLDS_OBJECT(root))
        return FALSE;
    obj = json_node_get_object(root);
    if (json_object_get_int_member_with_default(obj, "format", 0) !=
        QM_GUESTS_FORMAT)
        return FALSE;
#define STR(m)                                                                 \
    g_strdup(json_object_get_string_member_with_default(obj, m, NULL))
    g->id = STR("id");
    g->name = STR("name");
    g->socket = STR("socket");
    g->qemu = STR("qemu");
    g->cpu = STR("cpu");
    g->machine = STR("machine");
#undef STR
    g->started = json_object_get_int_member_with_default(obj, "started", 0);
    g->launcher = json_object_get_int_member_with_default(obj, "launcher", 0);
    g->launcher_start =
        json_object_get_int_member_with_default(obj, "launcher-start", 0);
    for (int k = 0; k < 2; k++) {
        const char *member = k == 0 ? "argv" : "peers";
        JsonNode *node = json_object_get_member(obj, member);
        JsonArray *a = node && JSON_NODE_HOLDS_ARRAY(node)
                           ? json_node_get_array(node)
                           : NULL;
        g_autoptr(GStrvBuilder) sb = g_strv_builder_new();

        for (guint i = 0; a != NULL && i < json_array_get_length(a); i++) {
            JsonNode *e = json_array_get_element(a, i);

            if (!JSON_NODE_HOLDS_VALUE(e) ||
                json_node_get_value_type(e) != G_TYPE_STRING)
                return FALSE;
            g_strv_builder_add(sb, json_node_get_string(e));
        }
        if (k == 0)
            g->argv = g_strv_builder_end(sb);
        else
            g->peers = g_strv_builder_end(sb);
    }
    /* a record names its own files: nothing elsewhere is ever touched */
    {
        g_autofree char *want = g_strdup_printf("%s.json", g->id ? g->id : "");
        g_autofree char *sock =
            g_strdup_printf("%s/%s.qmp", dir, g->id ? g->id : "");

        if (g->id == NULL || strcmp(file, want) != 0 || g->socket == NULL ||
            strcmp(g->socket, sock) != 0)
            return FALSE;
    }
    g->record = g_steal_pointer(&path);
    *guest = g_steal_pointer(&g);
    return TRUE;
}

/**
 * qm_guestlist_socket_pid() - the PID of the QEMU serving a monitor socket
 * @path: socket path
 *
 * A unix socket connect() completes at once when QEMU listens (it
 * accepts when it gets to it; the kernel queues us meanwhile), and
 * SO_PEERCRED holds the PID of whoever created the listening socket.
 * Closing at once is fine: QEMU sees a client that left.  QEMU listens
 * with a backlog of 1 and stops accepting while a client holds the
 * monitor, so a full queue makes connect() wait: SO_SNDTIMEO bounds that
 * wait (Linux applies it to a unix connect()), and a monitor that stays
 * busy is alive, not gone.
 *
 * Return: the PID, 0 when nothing listens there, -1 when something
 * listens but its queue stayed full
 */
gint64 qm_guestlist_socket_pid(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 1};
    struct ucred cred = {0};
    socklen_t len = sizeof(cred);
    gint64 pid = 0;
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path))
        return 0;
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            pid = cred.pid;
    } else if (errno == EAGAIN || errno == EINPROGRESS) {
        pid = -1;
    }
    close(fd);
    return pid;
}

/**
 * starting() - may QEMU still be on its way to opening the monitor?
 * @guest: a guest whose monitor does not answer
 *
 * The PID that registered the guest goes on to exec QEMU, and is QEMU
 * until it daemonizes: while that very process (same PID, same start
 * time) runs, the guest is not gone, however long QEMU takes.  Its
 * command line cannot tell: until the exec it is qemu-mig's own, which
 * does not name the socket.  A record without the start time (written by
 * `migrate` for a daemonized QEMU) falls back to the command line, for a
 * limited time.
 *
 * Return: TRUE if so
 */
static gboolean starting(const QmGuest *guest)
{
    g_autofree char *path = NULL;
    g_autofree char *cmdline = NULL;
    gsize len = 0;
    gint64 age = g_get_real_time() / G_USEC_PER_SEC - guest->started;

    if (guest->launcher <= 0)
        return FALSE;
    if (guest->launcher_start > 0)
        return qm_guests_process_start(guest->launcher) ==
               guest->launcher_start;
    path =
        g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", guest->launcher);
    if (age < 0 || age > QM_GUESTS_STARTING_S ||
        !g_file_get_contents(path, &cmdline, &len, NULL))
        return FALSE;
    /* NUL-separated words: look for the socket inside any of them */
    for (gsize i = 0; i < len; i += strlen(cmdline + i) + 1) {
        if (strstr(cmdline + i, guest->socket) != NULL)
            return TRUE;
    }
    return FALSE;
}

/**
 * cmp_started() - order guests by launch time, then id
 * @a: QmGuest **
 * @b: QmGuest **
 *
 * Return: <0, 0, >0
 */
static gint cmp_started(gconstpointer a, gconstpointer b)
{
    const QmGuest *x = *(QmGuest *const *)a;
    const QmGuest *y = *(QmGuest *const *)b;

    if (x->started != y->started)
        return x->started < y->started ? -1 : 1;
    return strcmp(x->id, y->id);
}

/**
 * qm_guestlist_list() - the registered guests that are alive
 * @dir:     runtime directory
 * @guests:  where to store the QmGuest array, oldest first
 * @removed: where to store how many records of gone guests were removed
 * @error:   set when the directory cannot be read
 *
 * A guest whose monitor answers is alive, with the PID behind it; one
 * that is still starting is listed with PID 0, one whose monitor is busy
 * with another client with PID -1; the records (and sockets)
 * of the others are removed.  Files that are not records of ours are
 * left alone.
 *
 * Return: TRUE on success
 */
gboolean qm_guestlist_list(const char *dir, GPtrArray **guests, guint *removed,
                           GError **error)
{
    g_autoptr(GPtrArray) out =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_guest_free);
    g_autoptr(GDir) d = NULL;
    g_autoptr(GError) local = NULL;
    const char *file;

    *removed = 0;
    d = g_dir_open(dir, 0, &local);
    if (d == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cannot read runtime directory %s: %s", dir,
                    local->message);
        return FALSE;
    }
    while ((file = g_dir_read_name(d)) != NULL) {
        g_autoptr(QmGuest) g = NULL;

        if (!g_str_has_suffix(file, ".json") || file[0] == '.' ||
            !read_record(dir, file, &g))
            continue;
        g->pid = qm_guestlist_socket_pid(g->socket);
        /* a busy monitor is a live one: only silence can mean gone */
        if (g->pid == 0 && !starting(g)) {
            qm_guests_unregister(g);
            (*removed)++;
            continue;
        }
        g_ptr_array_add(out, g_steal_pointer(&g));
    }
    g_ptr_array_sort(out, cmp_started);
    *guests = g_steal_pointer(&out);
    return TRUE;
}

/**
 * qm_guestlist_format() - `qemu-mig list`'s output
 * @guests: QmGuest array from qm_guestlist_list()
 * @json:   one JSON array rather than a table
 *
 * Return: newly allocated text, ending in a newline
 */
char *qm_guestlist_format(GPtrArray *guests, gboolean json)
{
    GString *s = g_string_new(NULL);

    if (json) {
        g_string_append_c(s, '[');
        for (guint i = 0; i < guests->len; i++) {
            g_autofree char *obj =
                qm_guests_json(g_ptr_array_index(guests, i), TRUE, "  ");

            g_string_append_printf(s, "%s\n  %s", i ? "," : "", obj);
        }
        g_string_append(s, guests->len ? "\n]\n" : "]\n");
        return g_string_free(s, FALSE);
    }
    g_string_append_printf(s, "%-20s %8s %-20s %s\n", "NAME", "PID", "STARTED",
                           "MONITOR");
    for (guint i = 0; i < guests->len; i++) {
        const QmGuest *g = g_ptr_array_index(guests, i);
        g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(g->started);
        g_autofree char *at =
            when ? g_date_time_format(when, "%Y-%m-%d %H:%M:%S")
                 : g_strdup("?");
        g_autofree char *pid =
            g->pid > 0    ? g_strdup_printf("%" G_GINT64_FORMAT, g->pid)
            : g->pid == 0 ? g_strdup("starting")
                          : g_strdup("busy");

        g_string_append_printf(s, "%-20s %8s %-20s %s\n",
                               g->name ? g->name : "-", pid, at, g->socket);
    }
    return g_string_free(s, FALSE);
}
