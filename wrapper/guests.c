/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: guests this host's qemu-mig started, found again later.
 *
 * A launch registers its guest in a per-user runtime directory: one QMP
 * monitor on a unix socket, ID.qmp, added to QEMU's command line (QEMU
 * allows any number of monitors; one more changes nothing the guest
 * sees), and a record, ID.json, saying what was asked and decided.  The
 * socket is how the guest is found again: connecting to it proves QEMU
 * is alive and SO_PEERCRED names its PID, which -daemonize changes.
 * Nothing runs in the background: `qemu-mig list` drops the records of
 * guests that are gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "error.h"
#include "guests.h"
#include "profile.h"
#include "qemuargs.h"

/* Bumped whenever the record's layout or meaning changes. */
#define QM_GUESTS_FORMAT 1

/* A record larger than this is not one of ours. */
#define QM_GUESTS_MAX_RECORD (1024 * 1024)

/*
 * A record without its launcher's start time, whose monitor does not
 * answer yet while the launcher's command line names the socket: QEMU is
 * starting.  Past this age it is not.
 */
#define QM_GUESTS_STARTING_S 60

/**
 * qm_guest_free() - free a QmGuest
 * @guest: guest, or NULL
 */
void qm_guest_free(QmGuest *guest)
{
    if (guest == NULL)
        return;
    g_free(guest->id);
    g_free(guest->record);
    g_free(guest->socket);
    g_free(guest->name);
    g_free(guest->qemu);
    g_strfreev(guest->argv);
    g_strfreev(guest->peers);
    g_free(guest->cpu);
    g_free(guest->machine);
    g_free(guest);
}

/**
 * check_dir() - is this directory ours alone?
 * @dir:   directory
 * @error: set with QM_ERROR_CACHE naming what is wrong
 *
 * The records name QEMU binaries and arguments, and the sockets give
 * whoever connects full control of a guest: a directory someone else can
 * write, or that is someone else's, or a symlink to either, is refused.
 *
 * Return: TRUE when it is a directory of ours, mode 0700 or stricter
 */
static gboolean check_dir(const char *dir, GError **error)
{
    struct stat st;

    if (lstat(dir, &st) < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE, "runtime directory %s: %s",
                    dir, g_strerror(errno));
        return FALSE;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "runtime directory %s refused: not a directory of "
                    "yours with mode 0700 (a symlink, someone else's, or "
                    "open to others)",
                    dir);
        return FALSE;
    }
    return TRUE;
}

/**
 * qm_guests_dir() - the runtime directory, created when missing
 * @override: --runtime-dir, or NULL
 * @dir:      where to store the newly allocated path
 * @error:    QM_ERROR_USAGE when there is none to use, QM_ERROR_CACHE
 *            when it is refused or cannot be made
 *
 * --runtime-dir, else $XDG_RUNTIME_DIR/qemu-mig, else /run/qemu-mig for
 * root: a directory that goes away at reboot, as the guests do.
 *
 * Return: TRUE on success
 */
gboolean qm_guests_dir(const char *override, char **dir, GError **error)
{
    const char *xdg = g_getenv("XDG_RUNTIME_DIR");
    g_autofree char *path = NULL;

    if (override != NULL)
        path = g_canonicalize_filename(override, NULL);
    else if (xdg != NULL && g_path_is_absolute(xdg))
        path = g_build_filename(xdg, "qemu-mig", NULL);
    else if (geteuid() == 0)
        path = g_strdup("/run/qemu-mig");
    if (path == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "no runtime directory for guest records: "
                    "XDG_RUNTIME_DIR is not set (use --runtime-dir DIR, or "
                    "--no-register)");
        return FALSE;
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cannot create runtime directory %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    if (!check_dir(path, error))
        return FALSE;
    *dir = g_steal_pointer(&path);
    return TRUE;
}

/**
 * qm_guests_name() - the guest name a QEMU command line gives
 * @argc: number of QEMU arguments
 * @argv: QEMU arguments
 *
 * -name NAME, or -name guest=NAME,..., the last -name winning as in QEMU.
 *
 * Return: newly allocated name, or NULL when there is none
 */
char *qm_guests_name(int argc, char *const *argv)
{
    static const char *const names[] = {"name", NULL};
    int i = qm_qemuargs_find_last(argc, argv, names);
    g_auto(GStrv) items = NULL;

    if (i < 0)
        return NULL;
    items = g_strsplit(argv[i], ",", -1);
    for (char **it = items; *it != NULL; it++) {
        if (g_str_has_prefix(*it, "guest="))
            return **it == '\0' ? NULL : g_strdup(*it + strlen("guest="));
        /* the implied key of -name is guest */
        if (it == items && strchr(*it, '=') == NULL && **it != '\0')
            return g_strdup(*it);
    }
    return NULL;
}

/**
 * add_strv() - add a string array member
 * @b:      builder inside an object
 * @member: member name
 * @strv:   NULL-terminated strings, or NULL for an empty array
 */
static void add_strv(JsonBuilder *b, const char *member, char *const *strv)
{
    json_builder_set_member_name(b, member);
    json_builder_begin_array(b);
    for (char *const *s = strv; s != NULL && *s != NULL; s++)
        json_builder_add_string_value(b, *s);
    json_builder_end_array(b);
}

/**
 * guest_to_json() - a guest as JSON
 * @guest:  guest
 * @listed: add what `list` found (pid) rather than only the record
 *
 * Return: new node
 */
static JsonNode *guest_to_json(const QmGuest *guest, gboolean listed)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    if (!listed) {
        json_builder_set_member_name(b, "format");
        json_builder_add_int_value(b, QM_GUESTS_FORMAT);
    }
    qm_profile_json_nullable_string(b, "id", guest->id);
    qm_profile_json_nullable_string(b, "name", guest->name);
    qm_profile_json_nullable_string(b, "socket", guest->socket);
    qm_profile_json_nullable_string(b, "qemu", guest->qemu);
    add_strv(b, "argv", guest->argv);
    add_strv(b, "peers", guest->peers);
    qm_profile_json_nullable_string(b, "cpu", guest->cpu);
    qm_profile_json_nullable_string(b, "machine", guest->machine);
    json_builder_set_member_name(b, "started");
    json_builder_add_int_value(b, guest->started);
    json_builder_set_member_name(b, "launcher");
    json_builder_add_int_value(b, guest->launcher);
    if (guest->launcher_start > 0) {
        json_builder_set_member_name(b, "launcher-start");
        json_builder_add_int_value(b, guest->launcher_start);
    }
    if (listed) {
        json_builder_set_member_name(b, "pid");
        json_builder_add_int_value(b, guest->pid);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/**
 * write_record() - write a guest's record atomically, mode 0600
 * @dir:   runtime directory
 * @guest: guest
 * @error: set with QM_ERROR_CACHE on failure
 *
 * Return: TRUE when written
 */
static gboolean write_record(const char *dir, const QmGuest *guest,
                             GError **error)
{
    g_autoptr(JsonNode) node = guest_to_json(guest, FALSE);
    g_autofree char *text = json_to_string(node, TRUE);
    g_autofree char *tmp =
        g_strdup_printf("%s/.%s.%d.tmp", dir, guest->id, (int)getpid());
    gsize len = strlen(text), done = 0;
    int fd, saved = 0;

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        saved = errno;
    } else {
        while (done < len) {
            ssize_t w = write(fd, text + done, len - done);

            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                saved = w < 0 ? errno : EIO;
                break;
            }
            done += w;
        }
        if (close(fd) < 0 && saved == 0)
            saved = errno;
        if (saved == 0 && rename(tmp, guest->record) < 0)
            saved = errno;
        if (saved != 0)
            unlink(tmp);
    }
    if (saved != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cannot write guest record %s: %s", guest->record,
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/**
 * qm_guests_register() - register a guest about to be started
 * @dir:       runtime directory (qm_guests_dir())
 * @guest:     what to record: @name, @qemu, @argv, @peers, @cpu,
 *             @machine; @id, @record, @socket, @started and @launcher are
 *             filled in here
 * @qmp_value: where to store the value of the -qmp option to add
 * @error:     set with QM_ERROR_CACHE when the record cannot be written,
 *             QM_ERROR_USAGE when the socket path is too long
 *
 * Return: TRUE on success
 */
gboolean qm_guests_register(const char *dir, QmGuest *guest, char **qmp_value,
                            GError **error)
{
    struct sockaddr_un sun;

    guest->id = g_strdup_printf("%08x%08x", g_random_int(), g_random_int());
    guest->record = g_strdup_printf("%s/%s.json", dir, guest->id);
    guest->socket = g_strdup_printf("%s/%s.qmp", dir, guest->id);
    guest->started = g_get_real_time() / G_USEC_PER_SEC;
    guest->launcher = getpid();
    guest->launcher_start = qm_guests_process_start(guest->launcher);
    /* a socket path QEMU would refuse, or cut */
    if (strlen(guest->socket) >= sizeof(sun.sun_path) ||
        strchr(guest->socket, ',') != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "runtime directory %s: its path is too long for a unix "
                    "socket, or holds a ',' (use --runtime-dir, or "
                    "--no-register)",
                    dir);
        return FALSE;
    }
    if (!write_record(dir, guest, error))
        return FALSE;
    *qmp_value = g_strdup_printf("unix:%s,server=on,wait=off", guest->socket);
    return TRUE;
}

/**
 * qm_guests_record_text() - a guest's record, as written to its file
 * @guest: guest
 *
 * Return: newly allocated JSON text
 */
char *qm_guests_record_text(const QmGuest *guest)
{
    g_autoptr(JsonNode) node = guest_to_json(guest, FALSE);

    return json_to_string(node, TRUE);
}

/**
 * qm_guests_unregister() - forget a guest that did not start
 * @guest: registered guest
 */
void qm_guests_unregister(const QmGuest *guest)
{
    unlink(guest->record);
    unlink(guest->socket);
}

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
 * qm_guests_socket_pid() - the PID of the QEMU serving a monitor socket
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
gint64 qm_guests_socket_pid(const char *path)
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
 * qm_guests_process_start() - when a process started
 * @pid: process
 *
 * Field 22 of /proc/PID/stat, counted after the ')' that closes the
 * command name (which may itself hold spaces and parentheses).
 *
 * Return: its start time in clock ticks since boot, 0 when it is gone
 */
gint64 qm_guests_process_start(gint64 pid)
{
    g_autofree char *path =
        g_strdup_printf("/proc/%" G_GINT64_FORMAT "/stat", pid);
    g_autofree char *text = NULL;
    const char *p;

    if (pid <= 0 || !g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    p = strrchr(text, ')');
    if (p == NULL)
        return 0;
    /* ") S ppid ..." : field 3 follows; skip to field 22 */
    for (int field = 2; field < 22 && p != NULL; field++)
        p = strchr(p + 1, ' ');
    return p != NULL ? g_ascii_strtoll(p + 1, NULL, 10) : 0;
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
 * qm_guests_list() - the registered guests that are alive
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
gboolean qm_guests_list(const char *dir, GPtrArray **guests, guint *removed,
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
        g->pid = qm_guests_socket_pid(g->socket);
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
 * qm_guests_format() - `qemu-mig list`'s output
 * @guests: QmGuest array from qm_guests_list()
 * @json:   one JSON array rather than a table
 *
 * Return: newly allocated text, ending in a newline
 */
char *qm_guests_format(GPtrArray *guests, gboolean json)
{
    GString *s = g_string_new(NULL);

    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *text = NULL;

        json_builder_begin_array(b);
        for (guint i = 0; i < guests->len; i++)
            json_builder_add_value(
                b, guest_to_json(g_ptr_array_index(guests, i), TRUE));
        json_builder_end_array(b);
        root = json_builder_get_root(b);
        text = json_to_string(root, TRUE);
        g_string_append_printf(s, "%s\n", text);
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
