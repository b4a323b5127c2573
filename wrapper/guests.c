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
 * guests that are gone (reading them: guestlist.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "guests.h"
#include "qemuargs.h"

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
 * append_string() - append a JSON string, or null
 * @out:   text
 * @value: string, or NULL
 *
 * Escaped as json-glib's generator does (the records were written by it
 * before): quote, backslash and control characters; everything else,
 * UTF-8 included, as is.
 */
static void append_string(GString *out, const char *value)
{
    if (value == NULL) {
        g_string_append(out, "null");
        return;
    }
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

/**
 * append_member() - append a member's name, after a comma unless first
 * @out:    text
 * @indent: the member's indentation
 * @name:   member name
 */
static void append_member(GString *out, const char *indent, const char *name)
{
    if (out->len > 0 && out->str[out->len - 1] != '{')
        g_string_append_c(out, ',');
    g_string_append_printf(out, "\n%s\"%s\" : ", indent, name);
}

/**
 * append_strv() - append a string array member
 * @out:    text
 * @indent: the member's indentation
 * @name:   member name
 * @strv:   NULL-terminated strings, or NULL for an empty array
 */
static void append_strv(GString *out, const char *indent, const char *name,
                        char *const *strv)
{
    append_member(out, indent, name);
    g_string_append_c(out, '[');
    for (char *const *s = strv; s != NULL && *s != NULL; s++) {
        g_string_append_printf(out, "%s\n%s  ", s == strv ? "" : ",", indent);
        append_string(out, *s);
    }
    if (strv != NULL && *strv != NULL)
        g_string_append_printf(out, "\n%s", indent);
    g_string_append_c(out, ']');
}

/**
 * qm_guests_json() - a guest as a JSON object
 * @guest:  guest
 * @listed: as `list --json` shows it (with the pid, without the format)
 *          rather than as its record
 * @indent: indentation of the object's lines (the object is in an array)
 *
 * Written by hand, not with json-glib: registering a guest is on the
 * warm launch path, which maps GLib alone (README, "Architecture").
 *
 * Return: newly allocated text, without a trailing newline
 */
char *qm_guests_json(const QmGuest *guest, gboolean listed, const char *indent)
{
    g_autofree char *in = g_strconcat(indent, "  ", NULL);
    GString *out = g_string_new("{");

    if (!listed) {
        append_member(out, in, "format");
        g_string_append_printf(out, "%d", QM_GUESTS_FORMAT);
    }
    append_member(out, in, "id");
    append_string(out, guest->id);
    append_member(out, in, "name");
    append_string(out, guest->name);
    append_member(out, in, "socket");
    append_string(out, guest->socket);
    append_member(out, in, "qemu");
    append_string(out, guest->qemu);
    append_strv(out, in, "argv", guest->argv);
    append_strv(out, in, "peers", guest->peers);
    append_member(out, in, "cpu");
    append_string(out, guest->cpu);
    append_member(out, in, "machine");
    append_string(out, guest->machine);
    append_member(out, in, "started");
    g_string_append_printf(out, "%" G_GINT64_FORMAT, guest->started);
    append_member(out, in, "launcher");
    g_string_append_printf(out, "%" G_GINT64_FORMAT, guest->launcher);
    if (guest->launcher_start > 0) {
        append_member(out, in, "launcher-start");
        g_string_append_printf(out, "%" G_GINT64_FORMAT, guest->launcher_start);
    }
    if (listed) {
        append_member(out, in, "pid");
        g_string_append_printf(out, "%" G_GINT64_FORMAT, guest->pid);
    }
    g_string_append_printf(out, "\n%s}", indent);
    return g_string_free(out, FALSE);
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
    g_autofree char *text = qm_guests_record_text(guest);
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
    g_autofree char *text = qm_guests_json(guest, FALSE, "");

    return g_strconcat(text, "\n", NULL);
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
