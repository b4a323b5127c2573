/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: qemu-mig's own command line (never QEMU's).
 *
 * Hand-written on purpose: GOptionContext would also consume QEMU's
 * arguments (it splits "-vga" into -v -g -a).  qemu-mig's options come
 * first; the first word that is not one of them, or "--", starts QEMU's
 * arguments, which are kept as the very same pointers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "error.h"
#include "qemuargs.h"

static const char usage_text[] =
    "Usage:\n"
    "  qemu-mig [OPTIONS] [--] QEMU_ARGS...          probe, decide, exec QEMU\n"
    "  qemu-mig explain [OPTIONS] [--] QEMU_ARGS...  show the decision\n"
    "  qemu-mig probe [OPTIONS] [DEST...]            show host profiles\n"
    "  qemu-mig cache [OPTIONS] list|show DEST|clear [DEST...]\n"
    "  qemu-mig list [OPTIONS]                       guests started here\n"
    "  qemu-mig migrate [OPTIONS] GUEST|--qmp SOCKET --to DEST\n"
    "                                                live-migrate a guest\n"
    "\n"
    "Starts qemu-system-x86_64 with a guest CPU that every --peer can also\n"
    "give it, so the guest can be live-migrated there later.  Each peer's\n"
    "own QEMU is asked over SSH; nothing but QEMU is needed on a peer.\n"
    "\n"
    "Defaults come from the config file ([defaults], [host NAME],\n"
    "[group NAME]); the command line wins over the environment\n"
    "(QEMU_MIG_PEERS, QEMU_MIG_CACHE_DIR), which wins over the file.\n"
    "Installed as qemu-system-x86_64 ahead of QEMU in PATH, qemu-mig takes\n"
    "no option of its own: peers come from QEMU_MIG_PEERS or the config.\n"
    "\n"
    "Options:\n"
    "  --peer DEST            migration peer: [user@]host[:port] or an\n"
    "                         ssh_config Host alias (repeatable; a,b,c too;\n"
    "                         @GROUP for a group of the config file)\n"
    "  --qemu PATH            local QEMU to probe and exec\n"
    "                         (default: qemu-system-x86_64 from PATH)\n"
    "  --remote-qemu CMD      QEMU command on peers (default:\n"
    "                         qemu-system-x86_64)\n"
    "  --ssh-config FILE      ssh_config to read instead of ~/.ssh/config\n"
    "  --identity FILE        private key to offer (agent and default\n"
    "                         keys are tried too)\n"
    "  --known-hosts FILE     known_hosts file to check host keys against\n"
    "  --timeout SECONDS      bound on all work before exec (default 10)\n"
    "  --allow-cross-vendor   proceed when hosts have different CPU vendors\n"
    "  --dry-run              print the final command as one shell-quoted\n"
    "                         line on stdout instead of running it\n"
    "  --for DEST             with explain or --dry-run: the command to run\n"
    "                         on peer DEST for the same guest (its QEMU is\n"
    "                         --remote-qemu)\n"
    "  --json                 explain/probe/list: print JSON; migrate: one\n"
    "                         JSON event per line on stdout\n"
    "  --cache-dir DIR        host-profile cache (default:\n"
    "                         $QEMU_MIG_CACHE_DIR, else\n"
    "                         $XDG_CACHE_HOME/qemu-mig)\n"
    "  --no-cache             neither read nor write the cache\n"
    "  --runtime-dir DIR      guest records and monitors (default:\n"
    "                         $XDG_RUNTIME_DIR/qemu-mig, for root\n"
    "                         /run/qemu-mig)\n"
    "  --to DEST              migrate: the destination\n"
    "  --qmp SOCKET           migrate: a guest not started by qemu-mig,\n"
    "                         by its own QMP monitor\n"
    "  --keep-source          migrate: leave the source QEMU paused\n"
    "  --force                migrate: go on although the vCPUs differ\n"
    "  --migrate-timeout SECONDS\n"
    "                         migrate: bound on the transfer (default:\n"
    "                         none)\n"
    "  --migrate-address ADDR migrate: where the destination listens\n"
    "                         (default: the address SSH reached)\n"
    "  --bandwidth RATE       migrate: at most RATE bytes/s (K, M, G)\n"
    "  --downtime MS          migrate: longest pause allowed at the end\n"
    "  --auto-converge        migrate: slow the guest down if needed\n"
    "  --tunnel               migrate: send the guest through SSH, to\n"
    "                         the destination's loopback\n"
    "  --remote-runtime-dir DIR\n"
    "                         migrate: the destination's runtime\n"
    "                         directory\n"
    "  --no-register          start the guest without a record or the\n"
    "                         extra QMP monitor `list` finds it by\n"
    "  --max-age DURATION     re-probe a peer whose profile is older\n"
    "                         (e.g. 30m, 12h, 7d; default 1d)\n"
    "  --refresh              re-probe every host now\n"
    "  --offline              use only cached profiles, never probe\n"
    "  --on-unreachable=stale|fail\n"
    "                         an unreachable peer with an expired profile:\n"
    "                         use it with a warning (default), or refuse\n"
    "  --config FILE          config file (default:\n"
    "                         $XDG_CONFIG_HOME/qemu-mig/config, else\n"
    "                         /etc/qemu-mig/config)\n"
    "  --no-config            read no config file\n"
    "  -v, --verbose          say more on stderr (repeatable)\n"
    "  -q, --quiet            print only errors on stderr\n"
    "  --help                 show this help\n"
    "  --version              show the version\n"
    "\n"
    "Exit status: QEMU's own when it runs; 0 for --dry-run, explain,\n"
    "probe and list; 1 internal error; 2 usage; 3 peer unreachable or\n"
    "timed out; 4 host key unknown or changed; 5 a QEMU unusable (missing,\n"
    "too old, no KVM); 6 bad QMP reply; 7 hosts incompatible; 8 cache,\n"
    "runtime directory or config file refused, or missing with --offline;\n"
    "9 a migration failed (the guest runs on here); 126 local QEMU not\n"
    "executable; 127 local QEMU not found.  See qemu-mig(1).\n";

/**
 * qm_cli_usage() - the --help text
 *
 * Return: static text
 */
const char *qm_cli_usage(void)
{
    return usage_text;
}

/**
 * qm_options_free() - free parsed options
 * @options: options, or NULL
 */
void qm_options_free(QmOptions *options)
{
    if (options == NULL)
        return;
    g_ptr_array_unref(options->peers);
    g_ptr_array_unref(options->dests);
    g_free(options->qemu);
    g_free(options->remote_qemu);
    g_free(options->ssh_config);
    g_free(options->identity);
    g_free(options->known_hosts);
    g_free(options->cache_dir);
    g_free(options->cache_action);
    g_free(options->for_dest);
    g_free(options->runtime_dir);
    g_free(options->to);
    g_free(options->qmp);
    g_free(options->guest);
    g_free(options->remote_runtime_dir);
    g_free(options->migrate_address);
    g_free(options->config);
    if (options->given != NULL)
        g_hash_table_unref(options->given);
    if (options->peer_group != NULL)
        g_hash_table_unref(options->peer_group);
    qm_config_free(options->config_file);
    g_free(options);
}

/* Options that take a value, as --opt VALUE or --opt=VALUE. */
static const char *const value_options[] = {
    "peer",
    "qemu",
    "remote-qemu",
    "ssh-config",
    "identity",
    "known-hosts",
    "timeout",
    "cache-dir",
    "max-age",
    "on-unreachable",
    "for",
    "runtime-dir",
    "to",
    "qmp",
    "migrate-timeout",
    "remote-runtime-dir",
    "migrate-address",
    "bandwidth",
    "downtime",
    "config",
};

/* Options that take no value: the gboolean they set */
static const struct {
    const char *name;
    gsize offset;
} flags[] = {
    {"dry-run", G_STRUCT_OFFSET(QmOptions, dry_run)},
    {"json", G_STRUCT_OFFSET(QmOptions, json)},
    {"allow-cross-vendor", G_STRUCT_OFFSET(QmOptions, allow_cross_vendor)},
    {"quiet", G_STRUCT_OFFSET(QmOptions, quiet)},
    {"no-cache", G_STRUCT_OFFSET(QmOptions, no_cache)},
    {"refresh", G_STRUCT_OFFSET(QmOptions, refresh)},
    {"offline", G_STRUCT_OFFSET(QmOptions, offline)},
    {"no-register", G_STRUCT_OFFSET(QmOptions, no_register)},
    {"keep-source", G_STRUCT_OFFSET(QmOptions, keep_source)},
    {"force", G_STRUCT_OFFSET(QmOptions, force)},
    {"auto-converge", G_STRUCT_OFFSET(QmOptions, auto_converge)},
    {"tunnel", G_STRUCT_OFFSET(QmOptions, tunnel)},
    {"no-config", G_STRUCT_OFFSET(QmOptions, no_config)},
};

/**
 * dest_valid() - is a destination plausible enough to hand to SSH?
 * @dest: destination as written
 *
 * Return: TRUE unless empty, starting with '-', or holding whitespace or
 * control characters
 */
static gboolean dest_valid(const char *dest)
{
    if (*dest == '\0' || *dest == '-')
        return FALSE;
    for (const char *p = dest; *p; p++) {
        if (g_ascii_isspace(*p) || g_ascii_iscntrl(*p))
            return FALSE;
    }
    return TRUE;
}

/**
 * add_peers() - add a --peer value (possibly a comma list)
 * @options: options being filled
 * @value:   "hostB" or "hostB,root@hostC:2222"
 * @error:   set on an empty or malformed destination
 *
 * Return: TRUE on success
 */
static gboolean add_peers(QmOptions *options, const char *value, GError **error)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);

    /* g_strsplit("") gives no items, which would hide a typo'd empty value */
    if (*value == '\0') {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--peer: the value must not be empty");
        return FALSE;
    }
    for (char **item = items; *item; item++) {
        gboolean dup = FALSE;

        if (!dest_valid(*item)) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "--peer '%s': not a destination ([user@]host[:port] "
                        "or an ssh_config Host alias)",
                        *item);
            return FALSE;
        }
        for (guint i = 0; i < options->peers->len; i++)
            dup |= strcmp(g_ptr_array_index(options->peers, i), *item) == 0;
        if (!dup)
            g_ptr_array_add(options->peers, g_strdup(*item));
    }
    return TRUE;
}

/**
 * parse_timeout() - --timeout SECONDS
 * @value:   option value
 * @out_ms:  where to store milliseconds
 * @error:   set when not a number in (0, 3600]
 *
 * Return: TRUE on success
 */
static gboolean parse_timeout(const char *value, gint64 *out_ms, GError **error)
{
    char *end = NULL;
    double seconds;

    errno = 0;
    seconds = g_ascii_strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || !(seconds > 0) ||
        seconds > 3600) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--timeout '%s': expected seconds, more than 0 and at "
                    "most 3600",
                    value);
        return FALSE;
    }
    *out_ms = (gint64)(seconds * 1000);
    if (*out_ms == 0)
        *out_ms = 1;
    return TRUE;
}

/**
 * parse_duration() - --max-age DURATION
 * @value:  "90", "90s", "30m", "12h" or "7d"
 * @out_s:  where to store seconds
 * @error:  set on anything else
 *
 * Return: TRUE on success
 */
static gboolean parse_duration(const char *name, const char *value,
                               gint64 *out_s, GError **error)
{
    static const struct {
        char unit;
        gint64 seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    g_autofree char *digits = g_strdup(value);
    gsize len = strlen(digits);
    gint64 mult = 1;
    guint64 n;

    for (gsize i = 0; len > 0 && i < G_N_ELEMENTS(units); i++) {
        if (digits[len - 1] == units[i].unit) {
            mult = units[i].seconds;
            digits[len - 1] = '\0';
        }
    }
    if (!g_ascii_string_to_unsigned(digits, 10, 0, G_MAXINT32, &n, NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--%s '%s': expected a duration like 90s, 30m, "
                    "12h or 7d",
                    name, value);
        return FALSE;
    }
    *out_s = (gint64)n * mult;
    return TRUE;
}

/**
 * parse_rate() - --bandwidth RATE: bytes per second, with K, M or G
 *                (binary) suffixes
 * @value: e.g. "100M"
 * @out:   where to store bytes per second
 * @error: set on a bad value
 *
 * Return: TRUE on success
 */
static gboolean parse_rate(const char *value, gint64 *out, GError **error)
{
    g_autofree char *digits = g_strdup(value);
    gsize len = strlen(digits);
    gint64 mult = 1;
    guint64 n;

    if (len > 0 && strchr("KMG", digits[len - 1]) != NULL) {
        mult = digits[len - 1] == 'K'   ? 1024
               : digits[len - 1] == 'M' ? 1024 * 1024
                                        : 1024 * 1024 * 1024;
        digits[len - 1] = '\0';
    }
    if (!g_ascii_string_to_unsigned(digits, 10, 1, G_MAXINT32, &n, NULL)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--bandwidth '%s': expected bytes per second, such as "
                    "500M",
                    value);
        return FALSE;
    }
    *out = (gint64)n * mult;
    return TRUE;
}

/**
 * set_value() - store the value of one of value_options[]
 * @options: options being filled
 * @name:    option name without dashes
 * @value:   its value
 * @error:   set on an invalid value
 *
 * Return: TRUE on success
 */
static gboolean set_value(QmOptions *options, const char *name,
                          const char *value, GError **error)
{
    char **slot = NULL;

    if (strcmp(name, "peer") == 0)
        return add_peers(options, value, error);
    if (strcmp(name, "timeout") == 0)
        return parse_timeout(value, &options->timeout_ms, error);
    if (strcmp(name, "max-age") == 0)
        return parse_duration(name, value, &options->max_age_s, error);
    if (strcmp(name, "migrate-timeout") == 0)
        return parse_duration(name, value, &options->migrate_timeout_s, error);
    if (strcmp(name, "bandwidth") == 0)
        return parse_rate(value, &options->bandwidth, error);
    if (strcmp(name, "downtime") == 0) {
        guint64 n;

        if (!g_ascii_string_to_unsigned(value, 10, 1, 2000000, &n, NULL)) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "--downtime '%s': expected milliseconds", value);
            return FALSE;
        }
        options->downtime_ms = (gint64)n;
        return TRUE;
    }
    if (strcmp(name, "on-unreachable") == 0) {
        if (strcmp(value, "stale") != 0 && strcmp(value, "fail") != 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "--on-unreachable '%s': expected stale or fail", value);
            return FALSE;
        }
        options->stale_ok = strcmp(value, "stale") == 0;
        return TRUE;
    }

    if (*value == '\0') {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--%s: the value must not be empty", name);
        return FALSE;
    }
    if (strcmp(name, "qemu") == 0)
        slot = &options->qemu;
    else if (strcmp(name, "remote-qemu") == 0)
        slot = &options->remote_qemu;
    else if (strcmp(name, "ssh-config") == 0)
        slot = &options->ssh_config;
    else if (strcmp(name, "identity") == 0)
        slot = &options->identity;
    else if (strcmp(name, "cache-dir") == 0)
        slot = &options->cache_dir;
    else if (strcmp(name, "for") == 0)
        slot = &options->for_dest;
    else if (strcmp(name, "runtime-dir") == 0)
        slot = &options->runtime_dir;
    else if (strcmp(name, "to") == 0)
        slot = &options->to;
    else if (strcmp(name, "qmp") == 0)
        slot = &options->qmp;
    else if (strcmp(name, "remote-runtime-dir") == 0)
        slot = &options->remote_runtime_dir;
    else if (strcmp(name, "migrate-address") == 0)
        slot = &options->migrate_address;
    else if (strcmp(name, "config") == 0)
        slot = &options->config;
    else
        slot = &options->known_hosts;
    g_free(*slot);
    *slot = g_strdup(value);
    return TRUE;
}

/**
 * parse_long() - handle one "--name[=value]" word
 * @options: options being filled
 * @argc:    argc
 * @argv:    argv
 * @i:       index of the word; advanced past a separate value
 * @done:    set to TRUE when the word starts QEMU's arguments instead
 * @error:   set on an unknown option or a missing value
 *
 * Return: TRUE on success
 */
static gboolean parse_long(QmOptions *options, int argc, char **argv, int *i,
                           gboolean *done, GError **error)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    g_autofree char *name = eq ? g_strndup(arg, eq - arg) : g_strdup(arg);

    /* QEMU's -qmp may be spelled --qmp: ours only in migrate */
    if (options->command != QM_CMD_MIGRATE && strcmp(name, "qmp") == 0 &&
        qm_qemuargs_is_known_option(name)) {
        *done = TRUE;
        return TRUE;
    }
    for (gsize k = 0; k < G_N_ELEMENTS(value_options); k++) {
        if (strcmp(name, value_options[k]) != 0)
            continue;
        g_hash_table_add(options->given, g_strdup(name));
        if (eq != NULL)
            return set_value(options, name, eq + 1, error);
        if (*i + 1 >= argc) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "--%s needs a value",
                        name);
            return FALSE;
        }
        (*i)++;
        return set_value(options, name, argv[*i], error);
    }
    for (gsize k = 0; k < G_N_ELEMENTS(flags); k++) {
        if (strcmp(name, flags[k].name) != 0)
            continue;
        if (eq != NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "--%s takes no value",
                        name);
            return FALSE;
        }
        G_STRUCT_MEMBER(gboolean, options, flags[k].offset) = TRUE;
        g_hash_table_add(options->given, g_strdup(name));
        return TRUE;
    }
    if (strcmp(name, "verbose") == 0) {
        options->verbose++;
        return TRUE;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "version") == 0) {
        options->command =
            strcmp(name, "help") == 0 ? QM_CMD_HELP : QM_CMD_VERSION;
        return TRUE;
    }
    if (qm_qemuargs_is_known_option(name)) {
        *done = TRUE;
        return TRUE;
    }
    g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                "unknown option --%s (QEMU's arguments go after '--')", name);
    return FALSE;
}

/**
 * qm_options_new() - options holding the built-in defaults only
 *
 * Return: new options, for a launch
 */
QmOptions *qm_options_new(void)
{
    QmOptions *out = g_new0(QmOptions, 1);

    out->command = QM_CMD_LAUNCH;
    out->peers = g_ptr_array_new_with_free_func(g_free);
    out->dests = g_ptr_array_new_with_free_func(g_free);
    out->remote_qemu = g_strdup(QM_DEFAULT_REMOTE_QEMU);
    out->timeout_ms = QM_DEFAULT_TIMEOUT_MS;
    out->max_age_s = QM_DEFAULT_MAX_AGE_S;
    out->stale_ok = TRUE;
    out->given = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    out->peer_group =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return out;
}

/**
 * qm_cli_set() - set one option as if given, for the config file
 * @options: options being filled
 * @name:    long option name without dashes
 * @value:   its value; for an option without one "true" or "false"
 * @error:   set with QM_ERROR_USAGE on an unknown name or a bad value
 *
 * The command line's own parsing and checks, so that a config file
 * cannot mean anything the command line could not.  Not recorded as
 * given.
 *
 * Return: TRUE on success
 */
gboolean qm_cli_set(QmOptions *options, const char *name, const char *value,
                    GError **error)
{
    for (gsize k = 0; k < G_N_ELEMENTS(value_options); k++) {
        if (strcmp(name, value_options[k]) == 0)
            return set_value(options, name, value, error);
    }
    for (gsize k = 0; k < G_N_ELEMENTS(flags); k++) {
        if (strcmp(name, flags[k].name) != 0)
            continue;
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "'%s': expected true or false", value);
            return FALSE;
        }
        G_STRUCT_MEMBER(gboolean, options, flags[k].offset) =
            strcmp(value, "true") == 0;
        return TRUE;
    }
    g_set_error(error, QM_ERROR, QM_ERROR_USAGE, "unknown option %s", name);
    return FALSE;
}

/**
 * qm_cli_parse() - parse qemu-mig's command line
 * @argc:    main()'s argc
 * @argv:    main()'s argv; QEMU's part is referenced, never copied or
 *           modified
 * @options: where to store the result
 * @error:   set on a usage error
 *
 * Return: TRUE on success
 */
gboolean qm_cli_parse(int argc, char **argv, QmOptions **options,
                      GError **error)
{
    g_autoptr(QmOptions) out = qm_options_new();
    g_autofree char *name = g_path_get_basename(argv[0] ? argv[0] : "");
    int i = 1;

    /*
     * Installed as qemu-system-x86_64 in front of the real one: a drop-in
     * for scripts that call QEMU.  Every argument is QEMU's ("--peer" may
     * be one some day); settings come from the environment and the config
     * file.
     */
    if (strcmp(name, "qemu-system-x86_64") == 0) {
        out->dropin = TRUE;
        out->qemu_argc = argc - 1;
        out->qemu_argv = argv + 1;
        *options = g_steal_pointer(&out);
        return TRUE;
    }

    if (i < argc && strcmp(argv[i], "explain") == 0) {
        out->command = QM_CMD_EXPLAIN;
        i++;
    } else if (i < argc && strcmp(argv[i], "probe") == 0) {
        out->command = QM_CMD_PROBE;
        i++;
    } else if (i < argc && strcmp(argv[i], "cache") == 0) {
        out->command = QM_CMD_CACHE;
        i++;
    } else if (i < argc && strcmp(argv[i], "list") == 0) {
        out->command = QM_CMD_LIST;
        i++;
    } else if (i < argc && strcmp(argv[i], "migrate") == 0) {
        out->command = QM_CMD_MIGRATE;
        i++;
    }

    for (; i < argc; i++) {
        const char *arg = argv[i];
        gboolean done = FALSE;

        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "-v") == 0) {
            out->verbose++;
        } else if (strcmp(arg, "-q") == 0) {
            out->quiet = TRUE;
        } else if (g_str_has_prefix(arg, "--")) {
            if (!parse_long(out, argc, argv, &i, &done, error))
                return FALSE;
            if (done)
                break;
        } else if (out->command == QM_CMD_MIGRATE && arg[0] != '-' &&
                   out->guest == NULL) {
            out->guest = g_strdup(arg);
        } else if (out->command == QM_CMD_CACHE && arg[0] != '-' &&
                   out->cache_action == NULL) {
            if (strcmp(arg, "list") != 0 && strcmp(arg, "show") != 0 &&
                strcmp(arg, "clear") != 0) {
                g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                            "cache: unknown action '%s' (list, show DEST, "
                            "clear [DEST...])",
                            arg);
                return FALSE;
            }
            out->cache_action = g_strdup(arg);
        } else if ((out->command == QM_CMD_PROBE ||
                    out->command == QM_CMD_CACHE) &&
                   arg[0] != '-') {
            if (!dest_valid(arg)) {
                g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                            "'%s' is not a destination", arg);
                return FALSE;
            }
            g_ptr_array_add(out->dests, g_strdup(arg));
        } else {
            break;
        }
    }

    if (out->command == QM_CMD_MIGRATE &&
        (i < argc || out->to == NULL ||
         (out->guest == NULL) == (out->qmp == NULL))) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "usage: qemu-mig migrate [OPTIONS] GUEST|--qmp SOCKET "
                    "--to DEST");
        return FALSE;
    }
    if (out->command != QM_CMD_MIGRATE &&
        (out->to != NULL || out->qmp != NULL || out->keep_source ||
         out->force || out->migrate_timeout_s != 0 ||
         out->remote_runtime_dir != NULL || out->migrate_address != NULL ||
         out->bandwidth != 0 || out->downtime_ms != 0 || out->auto_converge ||
         out->tunnel)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--to, --qmp, --keep-source, --force, --migrate-timeout, "
                    "--migrate-address, --remote-runtime-dir, --bandwidth, "
                    "--downtime, --auto-converge and --tunnel are for "
                    "migrate");
        return FALSE;
    }
    if (out->command == QM_CMD_LIST && i < argc) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "list takes no arguments ('%s')", argv[i]);
        return FALSE;
    }
    if ((out->command == QM_CMD_PROBE || out->command == QM_CMD_CACHE) &&
        i < argc) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s takes destinations, not QEMU arguments ('%s')",
                    out->command == QM_CMD_PROBE ? "probe" : "cache", argv[i]);
        return FALSE;
    }
    if (out->command == QM_CMD_CACHE &&
        (out->cache_action == NULL ||
         (strcmp(out->cache_action, "show") == 0 && out->dests->len != 1) ||
         (strcmp(out->cache_action, "list") == 0 && out->dests->len != 0))) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "usage: qemu-mig cache [OPTIONS] list | show DEST | "
                    "clear [DEST...]");
        return FALSE;
    }
    if (out->for_dest != NULL &&
        !(out->command == QM_CMD_EXPLAIN ||
          (out->command == QM_CMD_LAUNCH && out->dry_run))) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--for prints another host's command: use it with "
                    "explain or --dry-run");
        return FALSE;
    }
    if (out->config != NULL && out->no_config) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--config and --no-config contradict each other");
        return FALSE;
    }
    if (out->offline && out->refresh) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--offline and --refresh contradict each other");
        return FALSE;
    }
    if (out->command == QM_CMD_LAUNCH && out->json) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "--json is for explain, probe, list and migrate");
        return FALSE;
    }
    out->qemu_argc = argc - i;
    out->qemu_argv = argv + i;
    *options = g_steal_pointer(&out);
    return TRUE;
}
