/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the config file.
 *
 * GLib's key-file format, as GLib tools use:
 *
 *   [defaults]
 *   peers=deb2;rhel1
 *   timeout=20
 *   ssh-config=/etc/qemu-mig/ssh_config
 *
 *   [host rhel1]
 *   remote-qemu=/usr/libexec/qemu-kvm
 *
 *   [group lab]
 *   hosts=deb2;rhel1;@other-group
 *
 * Read from --config FILE, else $XDG_CONFIG_HOME/qemu-mig/config, else
 * /etc/qemu-mig/config; --no-config reads none.  The command line wins
 * over the environment (QEMU_MIG_CACHE_DIR, QEMU_MIG_PEERS), which wins
 * over the file, which wins over the built-in defaults.  [defaults] keys
 * are long options, set through the command line's own parser
 * (qm_cli_set()), so a file cannot mean what a command line could not.
 *
 * The whole file is checked when it is read, used or not: a typo found
 * only on the day a key matters is a typo found too late.  Errors name
 * the file and line; GKeyFile does not say lines, so a scan of our own
 * finds them (and the lines GKeyFile would reject).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cache/fileid.h"
#include "config.h"
#include "error.h"

/* A config file larger than this is not one */
#define QM_CONFIG_MAX (1024 * 1024)

/* Group nesting deeper than this is a cycle, or might as well be */
#define QM_CONFIG_MAX_DEPTH 16

/* [defaults] keys: the long options that make sense as defaults */
static const char *const default_keys[] = {
    "peers",
    "qemu",
    "remote-qemu",
    "ssh-config",
    "identity",
    "known-hosts",
    "timeout",
    "max-age",
    "on-unreachable",
    "cache-dir",
    "runtime-dir",
    "allow-cross-vendor",
    "no-register",
    "quiet",
    "remote-runtime-dir",
    "migrate-address",
    "migrate-timeout",
    "bandwidth",
    "downtime",
    "auto-converge",
    "tunnel",
    NULL,
};

/* [host NAME] keys: what differs between hosts */
static const char *const host_keys[] = {
    "remote-qemu",
    "remote-runtime-dir",
    "migrate-address",
    NULL,
};

/**
 * struct QmConfig - a config file, checked
 * @path:  the file, or NULL when none was read
 * @kf:    its contents
 * @lines: "GROUP" and "GROUP\nKEY" -> line number (GINT_TO_POINTER)
 * @values: strings handed out by qm_options_host_value(), kept
 */
struct QmConfig {
    char *path;
    GKeyFile *kf;
    GHashTable *lines;
    GPtrArray *values;
};

/**
 * qm_config_free() - free a config
 * @config: config, or NULL
 */
void qm_config_free(QmConfig *config)
{
    if (config == NULL)
        return;
    g_free(config->path);
    g_key_file_free(config->kf);
    g_hash_table_unref(config->lines);
    g_ptr_array_unref(config->values);
    g_free(config);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmConfig, qm_config_free)

/**
 * qm_config_path() - the file a config was read from
 * @config: config
 *
 * Return: its path, or NULL when none was read
 */
const char *qm_config_path(const QmConfig *config)
{
    return config->path;
}

/**
 * line_of() - where a group or key is
 * @config: config
 * @group:  group name
 * @key:    key, or NULL for the group's header
 *
 * Return: line number, 0 when unknown
 */
static int line_of(const QmConfig *config, const char *group, const char *key)
{
    g_autofree char *k =
        key ? g_strdup_printf("%s\n%s", group, key) : g_strdup(group);

    return GPOINTER_TO_INT(g_hash_table_lookup(config->lines, k));
}

/**
 * fail_at() - a config error, naming file, line and key
 * @config: config
 * @group:  group of the culprit
 * @key:    the culprit's key, or NULL for the group itself
 * @error:  set with QM_ERROR_USAGE
 * @fmt:    what is wrong
 *
 * Return: FALSE
 */
static gboolean G_GNUC_PRINTF(5, 6)
    fail_at(const QmConfig *config, const char *group, const char *key,
            GError **error, const char *fmt, ...)
{
    g_autofree char *what = NULL;
    va_list ap;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (key != NULL)
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "config %s:%d: [%s] %s: %s", config->path,
                    line_of(config, group, key), group, key, what);
    else
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "config %s:%d: [%s]: %s",
                    config->path, line_of(config, group, NULL), group, what);
    return FALSE;
}

/**
 * scan() - find the line of every group and key, and the lines GKeyFile
 *          would refuse without saying where
 * @config: config being read (@path set)
 * @text:   the file's contents
 * @error:  set with QM_ERROR_USAGE naming the line
 *
 * Return: TRUE when every line is blank, a comment, a [group] or a
 * key=value inside a group
 */
static gboolean scan(QmConfig *config, const char *text, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *group = NULL;

    for (int n = 0; lines[n] != NULL; n++) {
        const char *l = lines[n];
        const char *eq;

        while (*l == ' ' || *l == '\t')
            l++;
        if (*l == '\0' || *l == '#' || *l == '\r')
            continue;
        if (*l == '[') {
            const char *end = strchr(l, ']');

            if (end == NULL || end == l + 1) {
                g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                            "config %s:%d: a [section] header without its "
                            "name or its ']'",
                            config->path, n + 1);
                return FALSE;
            }
            g_free(group);
            group = g_strndup(l + 1, end - l - 1);
            if (g_hash_table_contains(config->lines, group)) {
                g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                            "config %s:%d: [%s] again (first at line %d)",
                            config->path, n + 1, group,
                            line_of(config, group, NULL));
                return FALSE;
            }
            g_hash_table_insert(config->lines, g_strdup(group),
                                GINT_TO_POINTER(n + 1));
            continue;
        }
        eq = strchr(l, '=');
        if (eq == NULL || eq == l) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "config %s:%d: neither [section], key=value nor a "
                        "# comment",
                        config->path, n + 1);
            return FALSE;
        }
        if (group == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "config %s:%d: a key before any [section]",
                        config->path, n + 1);
            return FALSE;
        }
        {
            g_autofree char *key = g_strstrip(g_strndup(l, eq - l));

            g_hash_table_insert(config->lines,
                                g_strdup_printf("%s\n%s", group, key),
                                GINT_TO_POINTER(n + 1));
        }
    }
    return TRUE;
}

/**
 * read_file() - a config file's text, if it is one we may trust
 * @path:  file
 * @text:  where to store the text
 * @error: QM_ERROR_USAGE when it cannot be read, QM_ERROR_CACHE when
 *         others than its owner and root may write it
 *
 * Through ProxyCommand-like settings (ssh-config, remote-qemu) a config
 * file decides what runs: like ssh with ~/.ssh/config, a file someone
 * else may write is refused.
 *
 * Return: TRUE on success
 */
static gboolean read_file(const char *path, char **text, GError **error)
{
    g_autoptr(GString) s = g_string_new(NULL);
    struct stat st;
    char buf[4096];
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "config %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "config %s: not a regular file", path);
        return FALSE;
    }
    if ((st.st_uid != getuid() && st.st_uid != 0) ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        close(fd);
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "config %s refused: others than its owner may write it, "
                    "or it is someone else's (chmod go-w)",
                    path);
        return FALSE;
    }
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || s->len + n > QM_CONFIG_MAX) {
            int saved = n < 0 ? errno : EFBIG;

            close(fd);
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "config %s: %s", path,
                        g_strerror(saved));
            return FALSE;
        }
        g_string_append_len(s, buf, n);
    }
    close(fd);
    if (memchr(s->str, '\0', s->len) != NULL ||
        !g_utf8_validate(s->str, s->len, NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "config %s: not UTF-8 text", path);
        return FALSE;
    }
    *text = g_string_free(g_steal_pointer(&s), FALSE);
    return TRUE;
}

/**
 * group_kind() - what a section is
 * @group: its name, e.g. "host rhel1"
 * @name:  where to point at NAME of "host NAME" and "group NAME"
 *
 * Return: "defaults", "host", "group", or NULL for anything else
 */
static const char *group_kind(const char *group, const char **name)
{
    *name = NULL;
    if (strcmp(group, "defaults") == 0)
        return "defaults";
    for (int k = 0; k < 2; k++) {
        const char *kind = k ? "group" : "host";
        gsize len = strlen(kind);

        if (strncmp(group, kind, len) == 0 && group[len] == ' ' &&
            group[len + 1] != '\0' && strchr(group + len + 1, ' ') == NULL) {
            *name = group + len + 1;
            return kind;
        }
    }
    return NULL;
}

/**
 * find_group() - the section of group NAME
 * @config: config
 * @name:   group name, without '@'
 *
 * Return: newly allocated section name, or NULL when there is none
 */
static char *find_group(const QmConfig *config, const char *name)
{
    g_autofree char *group = g_strdup_printf("group %s", name);

    return g_key_file_has_group(config->kf, group) ? g_steal_pointer(&group)
                                                   : NULL;
}

/**
 * expand() - the hosts a list names, groups expanded
 * @config: config
 * @items:  destinations and @groups
 * @from:   the group the list belongs to, or NULL for the command line
 * @origin: the top-level group the items come through, or NULL
 * @depth:  nesting so far
 * @out:    gets each host once, in order
 * @groups: host -> @origin for hosts that came through a group; may be
 *          NULL
 * @error:  set on an unknown group or a cycle
 *
 * Return: TRUE on success
 */
static gboolean expand(const QmConfig *config, char *const *items,
                       const char *from, const char *origin, int depth,
                       GPtrArray *out, GHashTable *groups, GError **error)
{
    for (guint i = 0; items[i] != NULL; i++) {
        const char *item = items[i];
        g_autofree char *group = NULL;
        g_auto(GStrv) hosts = NULL;
        gboolean seen = FALSE;

        if (item[0] != '@') {
            for (guint k = 0; k < out->len; k++)
                seen |= strcmp(g_ptr_array_index(out, k), item) == 0;
            if (!seen) {
                g_ptr_array_add(out, g_strdup(item));
                if (origin != NULL && groups != NULL)
                    g_hash_table_insert(groups, g_strdup(item),
                                        g_strdup(origin));
            }
            continue;
        }
        group = find_group(config, item + 1);
        if (group == NULL) {
            if (from != NULL)
                return fail_at(config, from, "hosts", error,
                               "no group %s (a [group %s] section)", item,
                               item + 1);
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "%s: no such group (a [group %s] section in %s)", item,
                        item + 1,
                        config->path ? config->path : "a config file");
            return FALSE;
        }
        if (depth >= QM_CONFIG_MAX_DEPTH)
            return fail_at(config, group, "hosts", error,
                           "groups include each other in a cycle");
        hosts =
            g_key_file_get_string_list(config->kf, group, "hosts", NULL, NULL);
        if (hosts == NULL)
            return fail_at(config, group, NULL, error, "no hosts= key");
        if (!expand(config, hosts, group, origin ? origin : item, depth + 1,
                    out, groups, error))
            return FALSE;
    }
    return TRUE;
}

/**
 * check() - every section and key of a config, whether used today or not
 * @config: config, read
 * @error:  set with QM_ERROR_USAGE naming file, line and key
 *
 * Return: TRUE when it is all valid
 */
static gboolean check(QmConfig *config, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(config->kf, NULL);

    for (guint i = 0; groups[i] != NULL; i++) {
        const char *name;
        const char *kind = group_kind(groups[i], &name);
        g_auto(GStrv) keys = NULL;

        if (kind == NULL)
            return fail_at(config, groups[i], NULL, error,
                           "unknown section (defaults, host NAME, group NAME)");
        keys = g_key_file_get_keys(config->kf, groups[i], NULL, NULL);
        for (guint k = 0; keys[k] != NULL; k++) {
            const char *const *known =
                strcmp(kind, "defaults") == 0 ? default_keys
                : strcmp(kind, "host") == 0
                    ? host_keys
                    : (const char *const[]){"hosts", NULL};
            g_autofree char *value = NULL;
            g_autoptr(GError) local = NULL;

            if (!g_strv_contains(known, keys[k]))
                return fail_at(config, groups[i], keys[k], error,
                               "unknown key");
            value =
                g_key_file_get_string(config->kf, groups[i], keys[k], &local);
            if (value == NULL)
                return fail_at(config, groups[i], keys[k], error, "%s",
                               local->message);
            if (*value == '\0')
                return fail_at(config, groups[i], keys[k], error,
                               "empty value");
            /* each value as the command line would take it */
            if (strcmp(kind, "defaults") == 0 &&
                strcmp(keys[k], "peers") != 0) {
                g_autoptr(QmOptions) scratch = qm_options_new();

                if (!qm_cli_set(scratch, keys[k], value, &local))
                    return fail_at(config, groups[i], keys[k], error, "%s",
                                   local->message);
            }
            if (strcmp(kind, "host") == 0 &&
                strcmp(keys[k], "remote-runtime-dir") == 0 &&
                !g_path_is_absolute(value))
                return fail_at(config, groups[i], keys[k], error,
                               "not an absolute path");
        }
        if (strcmp(kind, "group") == 0) {
            g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
            g_autofree char *at = g_strdup_printf("@%s", name);
            char *self[] = {at, NULL};

            if (!expand(config, self, NULL, NULL, 0, out, NULL, error))
                return FALSE;
        }
        if (strcmp(kind, "defaults") == 0 &&
            g_key_file_has_key(config->kf, groups[i], "peers", NULL)) {
            g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
            g_auto(GStrv) peers = g_key_file_get_string_list(
                config->kf, groups[i], "peers", NULL, NULL);

            if (!expand(config, peers, NULL, NULL, 0, out, NULL, error)) {
                g_clear_error(error);
                return fail_at(config, groups[i], "peers", error,
                               "names a group there is no [group] section "
                               "for");
            }
        }
    }
    return TRUE;
}

/**
 * user_file() - the user's config file: $XDG_CONFIG_HOME/qemu-mig/config,
 *               else ~/.config/qemu-mig/config
 *
 * Not g_get_user_config_dir(): without $HOME it asks the passwd database,
 * and warns on stderr for a UID without an entry (a container's), where
 * qemu-mig must say nothing it was not asked about.
 *
 * Return: newly allocated path, or NULL when there is no place for one
 */
static char *user_file(void)
{
    const char *xdg = g_getenv("XDG_CONFIG_HOME");
    const char *home = g_getenv("HOME");

    if (xdg != NULL && g_path_is_absolute(xdg))
        return g_build_filename(xdg, "qemu-mig", "config", NULL);
    if (home != NULL && g_path_is_absolute(home))
        return g_build_filename(home, ".config", "qemu-mig", "config", NULL);
    return NULL;
}

/**
 * qm_config_load() - read and check the config file
 * @path:   --config FILE, or NULL for the default places
 * @none:   --no-config: read nothing
 * @config: where to store the config (empty when none was read)
 * @error:  QM_ERROR_USAGE naming file, line and key when it is broken or
 *          a --config FILE is missing; QM_ERROR_CACHE when others may
 *          write it
 *
 * Return: TRUE on success
 */
gboolean qm_config_load(const char *path, gboolean none, QmConfig **config,
                        GError **error)
{
    g_autoptr(QmConfig) c = g_new0(QmConfig, 1);
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    c->kf = g_key_file_new();
    c->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->values = g_ptr_array_new_with_free_func(g_free);
    if (!none && path != NULL) {
        c->path = g_strdup(path);
    } else if (!none) {
        g_autofree char *user = user_file();

        if (user != NULL && g_file_test(user, G_FILE_TEST_EXISTS))
            c->path = g_steal_pointer(&user);
        else if (g_file_test("/etc/qemu-mig/config", G_FILE_TEST_EXISTS))
            c->path = g_strdup("/etc/qemu-mig/config");
    }
    if (c->path != NULL) {
        if (!read_file(c->path, &text, error) || !scan(c, text, error))
            return FALSE;
        if (!g_key_file_load_from_data(c->kf, text, -1, G_KEY_FILE_NONE,
                                       &local)) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "config %s: %s",
                        c->path, local->message);
            return FALSE;
        }
        if (!check(c, error))
            return FALSE;
    }
    *config = g_steal_pointer(&c);
    return TRUE;
}

/**
 * qm_config_files() - every file whose change may change the config read
 * @path: --config FILE, or NULL for the default places
 * @none: --no-config
 * @set:  fileid set (cache/fileid.h) to add them to
 *
 * Every candidate, not only the one read: a user file created later
 * takes the place of /etc's (its line changes from absent to present).
 */
void qm_config_files(const char *path, gboolean none, GHashTable *set)
{
    if (none)
        return;
    if (path != NULL) {
        g_autofree char *abs = g_canonicalize_filename(path, NULL);

        qm_fileid_add_file(set, abs);
    } else {
        g_autofree char *user = user_file();

        qm_fileid_add_file(set, user);
        qm_fileid_add_file(set, "/etc/qemu-mig/config");
    }
}

/**
 * expand_list() - expand the @groups of a list of destinations in place
 * @config:  config
 * @list:    destinations (char *)
 * @groups:  host -> group it came through, or NULL
 * @error:   set on an unknown group
 *
 * Return: TRUE on success
 */
static gboolean expand_list(const QmConfig *config, GPtrArray *list,
                            GHashTable *groups, GError **error)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(list, NULL);
    if (!expand(config, (char *const *)list->pdata, NULL, NULL, 0, out, groups,
                error)) {
        g_ptr_array_set_size(list, list->len - 1);
        return FALSE;
    }
    g_ptr_array_set_size(list, 0);
    for (guint i = 0; i < out->len; i++)
        g_ptr_array_add(list, g_strdup(g_ptr_array_index(out, i)));
    return TRUE;
}

/**
 * qm_config_apply() - fill in what the command line did not say
 * @config:  config from qm_config_load(); @options takes it over
 * @options: options parsed from the command line
 * @error:   set with QM_ERROR_USAGE on an unknown @group
 *
 * [defaults] keys for options not given on the command line (not
 * cache-dir when $QEMU_MIG_CACHE_DIR is set); peers, when no --peer was
 * given, from $QEMU_MIG_PEERS, else from [defaults] peers; then every
 * @group among the peers and destinations is expanded, each host
 * remembering its group.
 *
 * Return: TRUE on success
 */
gboolean qm_config_apply(QmConfig *config, QmOptions *options, GError **error)
{
    const char *env_peers = g_getenv("QEMU_MIG_PEERS");

    options->config_file = config;
    if (g_key_file_has_group(config->kf, "defaults")) {
        g_auto(GStrv) keys =
            g_key_file_get_keys(config->kf, "defaults", NULL, NULL);

        for (guint k = 0; keys[k] != NULL; k++) {
            g_autofree char *value = NULL;

            if (strcmp(keys[k], "peers") == 0 ||
                g_hash_table_contains(options->given, keys[k]) ||
                (strcmp(keys[k], "cache-dir") == 0 &&
                 g_getenv("QEMU_MIG_CACHE_DIR") != NULL))
                continue;
            value =
                g_key_file_get_string(config->kf, "defaults", keys[k], NULL);
            /* checked when read: this cannot fail */
            if (!qm_cli_set(options, keys[k], value, error))
                return FALSE;
        }
    }
    if (!g_hash_table_contains(options->given, "peer")) {
        if (env_peers != NULL && *env_peers != '\0') {
            if (!qm_cli_set(options, "peer", env_peers, error)) {
                g_prefix_error(error, "QEMU_MIG_PEERS: ");
                return FALSE;
            }
        } else if (g_key_file_has_key(config->kf, "defaults", "peers", NULL)) {
            g_auto(GStrv) peers = g_key_file_get_string_list(
                config->kf, "defaults", "peers", NULL, NULL);

            for (guint i = 0; peers[i] != NULL; i++) {
                if (!qm_cli_set(options, "peer", peers[i], error))
                    return FALSE;
            }
        }
    }
    return expand_list(config, options->peers, options->peer_group, error) &&
           expand_list(config, options->dests, NULL, error);
}

/**
 * host_section() - the [host NAME] section of a destination
 * @config: config
 * @dest:   destination as written: NAME, user@NAME or NAME:port
 *
 * Return: newly allocated section name, or NULL when it has none
 */
static char *host_section(const QmConfig *config, const char *dest)
{
    g_autofree char *exact = g_strdup_printf("host %s", dest);
    g_autofree char *bare = NULL;
    const char *at = strrchr(dest, '@');
    char *colon;

    if (g_key_file_has_group(config->kf, exact))
        return g_steal_pointer(&exact);
    bare = g_strdup(at ? at + 1 : dest);
    colon = strrchr(bare, ':');
    /* host:port, not an IPv6 address */
    if (colon != NULL && strchr(bare, ':') == colon)
        *colon = '\0';
    g_free(exact);
    exact = g_strdup_printf("host %s", bare);
    return g_key_file_has_group(config->kf, exact) ? g_steal_pointer(&exact)
                                                   : NULL;
}

/**
 * qm_options_host_value() - a setting for one destination
 * @options: options, after qm_config_apply()
 * @dest:    the destination
 * @key:     a [host NAME] key: "remote-qemu", "remote-runtime-dir",
 *           "migrate-address"
 *
 * Return: the host's own value, unless the option was given on the
 * command line (which wins); NULL when there is none
 */
const char *qm_options_host_value(const QmOptions *options, const char *dest,
                                  const char *key)
{
    g_autofree char *section = NULL;
    char *value;

    if (options->config_file == NULL || dest == NULL ||
        g_hash_table_contains(options->given, key))
        return NULL;
    section = host_section(options->config_file, dest);
    if (section == NULL)
        return NULL;
    value = g_key_file_get_string(options->config_file->kf, section, key, NULL);
    if (value == NULL)
        return NULL;
    /* kept for the options' lifetime: they own the config */
    g_ptr_array_add(options->config_file->values, value);
    return value;
}

/**
 * qm_options_remote_qemu() - the QEMU command on a destination
 * @options: options, after qm_config_apply()
 * @dest:    the destination
 *
 * Return: --remote-qemu when given, else the host's remote-qemu, else the
 * default's
 */
const char *qm_options_remote_qemu(const QmOptions *options, const char *dest)
{
    const char *own = qm_options_host_value(options, dest, "remote-qemu");

    return own ? own : options->remote_qemu;
}
