/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what a migration needs of the destination besides QEMU.
 *
 * A live migration moves RAM and device state, not disks: every file the
 * guest's QEMU opens must be at the same path on the destination (shared
 * storage), or the destination QEMU fails to start - or, worse, opens
 * another file of that name.  Which files those are is read from the
 * command line as QEMU reads it; whether they exist is asked of the
 * destination's own shell, over the SSH connection every step uses.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "migcmd.h"
#include "qemuargs.h"
#include "shquote.h"

/**
 * split_items() - the items of a QEMU option value
 * @value: e.g. "file=/a,,b.img,if=virtio"
 *
 * QEMU's option syntax: items are separated by ',', and ",," is a comma
 * inside an item ("/a,,b.img" is the file "/a,b.img").
 *
 * Return: new array of newly allocated items
 */
static GPtrArray *split_items(const char *value)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    GString *item = g_string_new(NULL);

    for (const char *p = value;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(item, ',');
            p++;
        } else if (*p == ',' || *p == '\0') {
            g_ptr_array_add(items, g_strdup(item->str));
            g_string_truncate(item, 0);
            if (*p == '\0')
                break;
        } else {
            g_string_append_c(item, *p);
        }
    }
    g_string_free(item, TRUE);
    return items;
}

/**
 * is_protocol() - does a file name name a network or special protocol?
 * @name: e.g. "nbd:host:10809", "json:{...}", "/srv/disk.img"
 *
 * QEMU reads "PROTO:rest" as a protocol when PROTO has no '/': such a
 * file is not on the destination's file system.
 *
 * Return: TRUE if so
 */
static gboolean is_protocol(const char *name)
{
    gsize n = strspn(name, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-_");

    return n > 0 && name[n] == ':';
}

/**
 * add_path() - add a path once, unless it is empty or a protocol
 * @paths: paths so far
 * @path:  candidate
 */
static void add_path(GPtrArray *paths, const char *path)
{
    if (*path == '\0' || is_protocol(path))
        return;
    for (guint i = 0; i < paths->len; i++) {
        if (strcmp(g_ptr_array_index(paths, i), path) == 0)
            return;
    }
    g_ptr_array_add(paths, g_strdup(path));
}

/**
 * add_keyed() - add the values of file-naming keys of an option value
 * @paths: paths so far
 * @value: key=value,... option value
 * @keys:  NULL-terminated keys that name a file; "filename" also matches
 *         a dotted "file.filename"
 */
static void add_keyed(GPtrArray *paths, const char *value,
                      const char *const *keys)
{
    g_autoptr(GPtrArray) items = split_items(value);

    for (guint i = 0; i < items->len; i++) {
        const char *item = g_ptr_array_index(items, i);
        const char *eq = strchr(item, '=');
        g_autofree char *key = NULL;
        const char *last;

        if (eq == NULL)
            continue;
        key = g_strndup(item, eq - item);
        last = strrchr(key, '.');
        last = last ? last + 1 : key;
        if (g_strv_contains(keys, key) ||
            (strcmp(last, "filename") == 0 && g_strv_contains(keys, last)))
            add_path(paths, eq + 1);
    }
}

/**
 * add_json_filenames() - add every "filename" string in a JSON value
 * @paths: paths so far
 * @node:  -blockdev's JSON form, or a part of it
 */
static void add_json_filenames(GPtrArray *paths, JsonNode *node)
{
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *obj = json_node_get_object(node);
        g_autoptr(GList) members = json_object_get_members(obj);

        for (GList *l = members; l != NULL; l = l->next) {
            JsonNode *m = json_object_get_member(obj, l->data);

            if (strcmp(l->data, "filename") == 0 && JSON_NODE_HOLDS_VALUE(m) &&
                json_node_get_value_type(m) == G_TYPE_STRING)
                add_path(paths, json_node_get_string(m));
            else
                add_json_filenames(paths, m);
        }
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);

        for (guint i = 0; i < json_array_get_length(a); i++)
            add_json_filenames(paths, json_array_get_element(a, i));
    }
}

/**
 * cmp_int() - order ints
 * @a: int *
 * @b: int *
 *
 * Return: <0, 0, >0
 */
static gint cmp_int(gconstpointer a, gconstpointer b)
{
    return *(const int *)a - *(const int *)b;
}

/**
 * qm_migcmd_storage_paths() - the files a QEMU command line opens
 * @argc: number of QEMU arguments
 * @argv: QEMU arguments
 *
 * -drive file= (and file.filename=), -blockdev filename= (key=value or
 * JSON), the disk shorthands (-hda..-hdd, -cdrom, -fda, -fdb, -sd,
 * -mtdblock, -pflash), -kernel, -initrd, -dtb, a -bios given as a path,
 * -L directories, and -fsdev/-virtfs path=.  Network and other protocol
 * names ("nbd:...", "json:...") are not files; a -bios without a '/' is
 * looked up in QEMU's own data directories.
 *
 * Return: new array of newly allocated paths, each once, in order
 */
GPtrArray *qm_migcmd_storage_paths(int argc, char *const *argv)
{
    static const char *const plain[] = {
        "hda",      "hdb",    "hdc",    "hdd",    "cdrom", "fda", "fdb", "sd",
        "mtdblock", "pflash", "kernel", "initrd", "dtb",   "L",   NULL,
    };
    static const char *const drive_keys[] = {"file", "filename", NULL};
    static const char *const blockdev_keys[] = {"filename", NULL};
    static const char *const fs_keys[] = {"path", NULL};
    static const char *const drive[] = {"drive", NULL};
    static const char *const blockdev[] = {"blockdev", NULL};
    static const char *const fs[] = {"fsdev", "virtfs", NULL};
    static const char *const bios[] = {"bios", NULL};
    static const char *const *const groups[] = {plain, drive, blockdev, fs,
                                                bios};
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) at = g_array_new(FALSE, FALSE, sizeof(int));

    /* the values QEMU reads for these options (an option's value is
     * never taken for an option), in command-line order, so that the
     * refusal names them as written */
    for (gsize g = 0; g < G_N_ELEMENTS(groups); g++) {
        g_autoptr(GArray) found = qm_qemuargs_find_all(argc, argv, groups[g]);

        g_array_append_vals(at, found->data, found->len);
    }
    g_array_sort(at, cmp_int);
    for (guint k = 0; k < at->len; k++) {
        int i = g_array_index(at, int, k);
        const char *opt = argv[i - 1] + (argv[i - 1][1] == '-' ? 2 : 1);
        const char *value = argv[i];

        if (g_strv_contains(plain, opt)) {
            add_path(paths, value);
        } else if (g_strv_contains(drive, opt)) {
            add_keyed(paths, value, drive_keys);
        } else if (g_strv_contains(blockdev, opt) && value[0] == '{') {
            g_autoptr(JsonNode) node = json_from_string(value, NULL);

            if (node != NULL)
                add_json_filenames(paths, node);
        } else if (g_strv_contains(blockdev, opt)) {
            add_keyed(paths, value, blockdev_keys);
        } else if (g_strv_contains(fs, opt)) {
            add_keyed(paths, value, fs_keys);
        } else if (strchr(value, '/') != NULL) {
            /* -bios: a bare name is found in QEMU's data directories */
            add_path(paths, value);
        }
    }
    return paths;
}

/**
 * qm_migcmd_missing_script() - a POSIX shell command that prints which of
 *                              some paths do not exist
 * @paths: paths
 *
 * Each missing path is printed followed by a NUL byte (a path may hold a
 * newline).  A dangling symlink counts as missing: QEMU could not open
 * it either.
 *
 * Return: newly allocated command
 */
char *qm_migcmd_missing_script(GPtrArray *paths)
{
    GString *s;

    if (paths->len == 0)
        return g_strdup("true");
    s = g_string_new("for p in");
    for (guint i = 0; i < paths->len; i++) {
        g_autofree char *q = qm_shquote_word(g_ptr_array_index(paths, i));

        g_string_append_printf(s, " %s", q);
    }
    g_string_append(s, "; do [ -e \"$p\" ] || printf '%s\\000' \"$p\"; done");
    return g_string_free(s, FALSE);
}

/**
 * qm_migcmd_missing_parse() - the paths qm_migcmd_missing_script() printed
 * @out: its stdout
 * @len: its length
 *
 * Return: new array of newly allocated paths
 */
GPtrArray *qm_migcmd_missing_parse(const char *out, gsize len)
{
    GPtrArray *missing = g_ptr_array_new_with_free_func(g_free);
    gsize start = 0;

    for (gsize i = 0; i < len; i++) {
        if (out[i] == '\0') {
            g_ptr_array_add(missing, g_strndup(out + start, i - start));
            start = i + 1;
        }
    }
    return missing;
}

/**
 * sock_value() - a unix-socket chardev value in the destination's
 *                runtime directory
 * @dir:  runtime directory on the destination
 * @id:   the guest's id there
 * @what: what the socket is for ("serial0", "monitor0", "char-con")
 *
 * Return: newly allocated "unix:DIR/ID.WHAT,server=on,wait=off"
 */
static char *sock_value(const char *dir, const char *id, const char *what)
{
    return g_strdup_printf("unix:%s/%s.%s,server=on,wait=off", dir, id, what);
}

/**
 * is_stdio() - is a chardev value the terminal?
 * @value: e.g. "stdio", "mon:stdio", "stdio,signal=off"
 *
 * Return: TRUE if so
 */
static gboolean is_stdio(const char *value)
{
    if (g_str_has_prefix(value, "mon:"))
        value += strlen("mon:");
    return strcmp(value, "stdio") == 0 || g_str_has_prefix(value, "stdio,");
}

/**
 * qm_migcmd_detach() - a command line that runs as a daemon on the
 *                      destination
 * @argc:  number of QEMU arguments
 * @argv:  QEMU arguments, as the source runs them
 * @dir:   the destination's runtime directory
 * @id:    the guest's id there
 * @notes: one line per rewritten option: where its terminal went
 *
 * The destination QEMU must outlive the SSH session that starts it
 * (-daemonize), and QEMU refuses -daemonize with anything bound to the
 * terminal.  So: -nographic becomes -display none, with the serial port
 * it would have put on stdio on a unix socket instead (unless -serial is
 * given); -serial, -parallel, -monitor, -qmp and -debugcon on stdio, and
 * -chardev stdio, become unix sockets in @dir (server, no wait: connect
 * to attach); -display gtk, sdl, curses and cocoa become -display none.
 * A -qmp or -monitor on a unix socket moves there too: QEMU unlinks
 * whatever is at its path before listening, which on a host sharing the
 * path (loopback, a shared /run) would be the source's own monitor.
 * None of it is seen by the guest: a serial port is the same device
 * whatever its backend, and monitors are no device at all.  Everything
 * else is copied byte for byte.
 *
 * Return: newly allocated NULL-terminated argv
 */
char **qm_migcmd_detach(int argc, char *const *argv, const char *dir,
                        const char *id, GPtrArray *notes)
{
    static const char *const stdio_opts[] = {"serial", "parallel", "monitor",
                                             "qmp",    "debugcon", NULL};
    static const char *const all[] = {"nographic", "serial",  "parallel",
                                      "monitor",   "qmp",     "debugcon",
                                      "chardev",   "display", NULL};
    static const char *const serial[] = {"serial", NULL};
    g_autoptr(GArray) at = qm_qemuargs_find_options(argc, argv, all);
    g_autoptr(GArray) serials = qm_qemuargs_find_all(argc, argv, serial);
    g_autoptr(GStrvBuilder) out = g_strv_builder_new();
    g_autoptr(GHashTable) counts = g_hash_table_new(g_str_hash, g_str_equal);
    guint k = 0;

    for (int i = 0; i < argc; i++) {
        const char *opt;
        const char *value;

        if (k >= at->len || g_array_index(at, int, k) != i) {
            g_strv_builder_add(out, argv[i]);
            continue;
        }
        k++;
        opt = argv[i] + (argv[i][1] == '-' ? 2 : 1);
        if (strcmp(opt, "nographic") == 0) {
            g_strv_builder_add_many(out, "-display", "none", NULL);
            g_ptr_array_add(notes, g_strdup("-nographic: -display none on the "
                                            "destination"));
            if (serials->len == 0) {
                g_autofree char *v = sock_value(dir, id, "serial0");

                g_strv_builder_add_many(out, "-serial", v, NULL);
                g_ptr_array_add(notes,
                                g_strdup_printf("-nographic's serial port: "
                                                "%s/%s.serial0",
                                                dir, id));
            }
            continue;
        }
        if (i + 1 >= argc) {
            g_strv_builder_add(out, argv[i]);
            continue;
        }
        value = argv[++i];
        if (g_strv_contains(stdio_opts, opt) &&
            (is_stdio(value) ||
             ((strcmp(opt, "qmp") == 0 || strcmp(opt, "monitor") == 0) &&
              g_str_has_prefix(value, "unix:")))) {
            guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, opt));
            g_autofree char *what = g_strdup_printf("%s%u", opt, n);
            g_autofree char *v = sock_value(dir, id, what);

            g_hash_table_insert(counts, (gpointer)opt, GUINT_TO_POINTER(n + 1));
            g_strv_builder_add_many(out, argv[i - 1], v, NULL);
            g_ptr_array_add(notes,
                            g_strdup_printf("%s %s: %s/%s.%s", argv[i - 1],
                                            value, dir, id, what));
        } else if (strcmp(opt, "chardev") == 0 &&
                   (strcmp(value, "stdio") == 0 ||
                    g_str_has_prefix(value, "stdio,"))) {
            g_autoptr(GPtrArray) items = split_items(value);
            g_autoptr(GString) v = g_string_new("socket");
            g_autofree char *name = NULL;

            for (guint j = 1; j < items->len; j++) {
                const char *item = g_ptr_array_index(items, j);

                /* the id and multiplexing stay; stdio's own options go */
                if (g_str_has_prefix(item, "id=")) {
                    g_free(name);
                    name = g_strdup(item + strlen("id="));
                }
                if (g_str_has_prefix(item, "id=") ||
                    g_str_has_prefix(item, "mux="))
                    g_string_append_printf(v, ",%s", item);
            }
            g_string_append_printf(v,
                                   ",path=%s/%s.chardev-%s,server=on,"
                                   "wait=off",
                                   dir, id, name ? name : "");
            g_strv_builder_add_many(out, argv[i - 1], v->str, NULL);
            g_ptr_array_add(notes, g_strdup_printf("-chardev stdio (id %s): "
                                                   "%s/%s.chardev-%s",
                                                   name ? name : "", dir, id,
                                                   name ? name : ""));
        } else if (strcmp(opt, "display") == 0 &&
                   (g_str_has_prefix(value, "gtk") ||
                    g_str_has_prefix(value, "sdl") ||
                    g_str_has_prefix(value, "curses") ||
                    g_str_has_prefix(value, "cocoa"))) {
            g_strv_builder_add_many(out, argv[i - 1], "none", NULL);
            g_ptr_array_add(notes, g_strdup_printf("-display %s: none on "
                                                   "the destination",
                                                   value));
        } else {
            g_strv_builder_add_many(out, argv[i - 1], value, NULL);
        }
    }
    return g_strv_builder_end(out);
}
