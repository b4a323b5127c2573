/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: reading QEMU's command line without changing it, and the pure
 * rewrite of the effective -cpu value.
 *
 * QEMU's arguments are never run through GOptionContext: it would treat
 * single-dash words like -vga as bundles of short options.  Instead this
 * walks argv the way QEMU's own lookup_opt() does, which needs to know
 * which options take an argument.
 */
#include <string.h>

#include "error.h"
#include "feature.h"
#include "qemuargs.h"

/*
 * QEMU options without an argument (no HAS_ARG in qemu-options.hx, QEMU
 * 2.x to 9.x).  Every other known option consumes the next word, even one
 * starting with '-' (think "-name -cpu").
 */
static const char *const noarg_options[] = {
    "alt-grab",
    "audio-help",
    "ctrl-grab",
    "curses",
    "daemonize",
    "enable-fips",
    "enable-kvm",
    "enable-sync-profile",
    "full-screen",
    "h",
    "help",
    "jitdump",
    "mem-prealloc",
    "no-acpi",
    "no-fd-bootchk",
    "no-frame",
    "no-hpet",
    "no-quit",
    "no-reboot",
    "no-shutdown",
    "no-user-config",
    "nodefaults",
    "nographic",
    "old-param",
    "only-migratable",
    "perfmap",
    "portrait",
    "preconfig",
    "s",
    "S",
    "sdl",
    "semihosting",
    "singlestep",
    "snapshot",
    "usb",
    "version",
    "win2k-hack",
    "xen-attach",
    "xen-domid-restrict",
};

/*
 * QEMU options known to take an argument.  Needed only to tell them apart
 * from options this table has never heard of (see option_takes_arg()).
 */
static const char *const arg_options[] = {
    "accel",
    "acpitable",
    "add-fd",
    "append",
    "audio",
    "audiodev",
    "bios",
    "blockdev",
    "boot",
    "cdrom",
    "chardev",
    "compat",
    "cpu",
    "d",
    "D",
    "debugcon",
    "device",
    "display",
    "drive",
    "dtb",
    "dump-vmstate",
    "fda",
    "fdb",
    "fsdev",
    "fw_cfg",
    "g",
    "gdb",
    "global",
    "hda",
    "hdb",
    "hdc",
    "hdd",
    "icount",
    "incoming",
    "initrd",
    "iscsi",
    "k",
    "kernel",
    "L",
    "loadvm",
    "m",
    "M",
    "machine",
    "mem-path",
    "mon",
    "monitor",
    "msg",
    "mtdblock",
    "name",
    "net",
    "netdev",
    "nic",
    "numa",
    "object",
    "option-rom",
    "overcommit",
    "parallel",
    "pflash",
    "pidfile",
    "plugin",
    "qmp",
    "qmp-pretty",
    "readconfig",
    "rtc",
    "run-with",
    "sandbox",
    "sd",
    "seed",
    "serial",
    "smbios",
    "smp",
    "spice",
    "tpmdev",
    "trace",
    "uuid",
    "vga",
    "virtfs",
    "vnc",
    "watchdog-action",
    "xen-domid",
};

/**
 * option_name() - the option a QEMU argument names, if it is one
 * @arg: argument
 *
 * QEMU accepts both -opt and --opt.
 *
 * Return: pointer into @arg past the dashes, or NULL if @arg is not an
 * option (a positional argument, "-" alone, or "--" alone)
 */
static const char *option_name(const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return NULL;
    arg++;
    if (arg[0] == '-')
        arg++;
    return *arg ? arg : NULL;
}

/**
 * in_table() - string membership in a static table
 * @name:  string to look for
 * @table: table
 * @n:     number of entries
 *
 * Return: TRUE if found
 */
static gboolean in_table(const char *name, const char *const *table, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        if (strcmp(name, table[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

/**
 * option_takes_arg() - does this option consume the following word?
 * @name: option name without dashes
 * @next: the following word, or NULL at the end
 *
 * For an option neither table knows (a newer QEMU), a following word that
 * looks like an option is assumed not to be its argument: that way a
 * "-cpu" after it is still seen and rewritten, which fails safe.
 *
 * Return: TRUE if @next is this option's argument
 */
static gboolean option_takes_arg(const char *name, const char *next)
{
    if (in_table(name, noarg_options, G_N_ELEMENTS(noarg_options)))
        return FALSE;
    if (in_table(name, arg_options, G_N_ELEMENTS(arg_options)))
        return TRUE;
    return next != NULL && next[0] != '-';
}

/**
 * qm_qemuargs_find_cpu() - where is the effective -cpu value?
 * @argc: number of QEMU arguments
 * @argv: QEMU arguments (without the binary)
 *
 * QEMU lets the last -cpu win, so that is the one to rewrite.
 *
 * Return: index of the value of the last -cpu/--cpu, or -1 when there is
 * none (a trailing "-cpu" without value also gives -1: QEMU rejects it)
 */
int qm_qemuargs_find_cpu(int argc, char *const *argv)
{
    static const char *const names[] = {"cpu", NULL};

    return qm_qemuargs_find_last(argc, argv, names);
}

/**
 * qm_qemuargs_find_last() - where is the value of the last of some options?
 * @argc:  number of QEMU arguments
 * @argv:  QEMU arguments (without the binary)
 * @names: NULL-terminated option names without dashes (aliases of one
 *         option, e.g. "machine" and "M")
 *
 * Return: index of the value, or -1 when none is given
 */
int qm_qemuargs_find_last(int argc, char *const *argv, const char *const *names)
{
    g_autoptr(GArray) all = qm_qemuargs_find_all(argc, argv, names);

    return all->len ? g_array_index(all, int, all->len - 1) : -1;
}

/**
 * find() - walk argv as QEMU does and note where some options are
 * @argc:   number of QEMU arguments
 * @argv:   QEMU arguments (without the binary)
 * @names:  NULL-terminated option names without dashes
 * @values: TRUE to note their values (the options then always take the
 *          next word), FALSE to note the option words themselves
 *
 * Return: new array of int indexes, in order
 */
static GArray *find(int argc, char *const *argv, const char *const *names,
                    gboolean values)
{
    GArray *found = g_array_new(FALSE, FALSE, sizeof(int));

    for (int i = 0; i < argc; i++) {
        const char *name = option_name(argv[i]);
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        gboolean hit;

        if (name == NULL)
            continue;
        hit = g_strv_contains(names, name);
        if (hit && (!values || next != NULL)) {
            int index = values ? i + 1 : i;

            g_array_append_val(found, index);
        }
        if ((hit && values) || option_takes_arg(name, next))
            i++;
    }
    return found;
}

/**
 * qm_qemuargs_find_all() - where are the values of some options?
 * @argc:  number of QEMU arguments
 * @argv:  QEMU arguments (without the binary)
 * @names: NULL-terminated option names without dashes
 *
 * QEMU merges repeated -machine options, so all of them matter.
 *
 * Return: new array of int indexes, in order
 */
GArray *qm_qemuargs_find_all(int argc, char *const *argv,
                             const char *const *names)
{
    return find(argc, argv, names, TRUE);
}

/**
 * qm_qemuargs_find_options() - where are some options themselves?
 * @argc:  number of QEMU arguments
 * @argv:  QEMU arguments (without the binary)
 * @names: NULL-terminated option names without dashes, with or without
 *         an argument ("accel", "enable-kvm")
 *
 * Unlike qm_qemuargs_find_all(), for options without an argument too, and
 * never a word that is another option's value ("-name -enable-kvm").
 *
 * Return: new array of int indexes of the option words, in order
 */
GArray *qm_qemuargs_find_options(int argc, char *const *argv,
                                 const char *const *names)
{
    return find(argc, argv, names, FALSE);
}

/**
 * is_help_value() - does an option value ask QEMU for help?
 * @value: option argument
 *
 * Return: TRUE for "help", "?" or a comma list containing either
 * (e.g. "virtio-net-pci,help")
 */
static gboolean is_help_value(const char *value)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);

    for (char **item = items; *item; item++) {
        if (strcmp(*item, "help") == 0 || strcmp(*item, "?") == 0)
            return TRUE;
    }
    return FALSE;
}

/*
 * Options whose "help" or "?" (alone or as an item) makes QEMU list
 * choices and exit (is_help_option() callers in system/vl.c and friends).
 * Every other option's value is a name, path or id that may well be
 * "help": -name help starts a guest called help.
 */
static const char *const query_options[] = {
    "accel",   "audio",  "audiodev", "chardev", "cpu",      "d",      "device",
    "display", "k",      "M",        "machine", "net",      "netdev", "nic",
    "object",  "tpmdev", "trace",    "vga",     "watchdog",
};

/**
 * qm_qemuargs_is_query() - does this invocation only ask QEMU something?
 * @argc: number of QEMU arguments
 * @argv: QEMU arguments (without the binary)
 *
 * `-version`, `-help`, `-cpu help`, `-machine ?`, `-device foo,help` and
 * the like print and exit without starting a guest: nothing to probe.
 *
 * Return: TRUE if QEMU will only print information
 */
gboolean qm_qemuargs_is_query(int argc, char *const *argv)
{
    for (int i = 0; i < argc; i++) {
        const char *name = option_name(argv[i]);
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;

        if (name == NULL)
            continue;
        if (strcmp(name, "version") == 0 || strcmp(name, "help") == 0 ||
            strcmp(name, "h") == 0 || strcmp(name, "audio-help") == 0)
            return TRUE;
        if (option_takes_arg(name, next)) {
            if (next != NULL &&
                in_table(name, query_options, G_N_ELEMENTS(query_options)) &&
                is_help_value(next))
                return TRUE;
            i++;
        }
    }
    return FALSE;
}

/**
 * qm_qemuargs_rewrite() - a copy of argv with the -cpu value replaced
 * @argc:      number of QEMU arguments
 * @argv:      QEMU arguments (without the binary)
 * @cpu_index: index of the -cpu value to replace, or -1 to append
 *             "-cpu @cpu_value" at the end
 * @cpu_value: new value, or NULL to copy argv unchanged
 *
 * Every other argument is copied byte for byte, in order.
 *
 * Return: newly allocated NULL-terminated argv; free with g_strfreev()
 */
char **qm_qemuargs_rewrite(int argc, char *const *argv, int cpu_index,
                           const char *cpu_value)
{
    QmArgEdit edit = {cpu_index, "-cpu", cpu_value};

    return qm_qemuargs_edit(argc, argv, &edit, 1);
}

/**
 * qm_qemuargs_edit() - a copy of argv with some option values replaced
 * @argc:  number of QEMU arguments
 * @argv:  QEMU arguments (without the binary)
 * @edits: what to change: an edit with index >= 0 replaces that word, one
 *         with index -1 appends "option value"; a NULL value does nothing
 * @n:     number of edits
 *
 * Every other argument is copied byte for byte, in order.
 *
 * Return: newly allocated NULL-terminated argv; free with g_strfreev()
 */
char **qm_qemuargs_edit(int argc, char *const *argv, const QmArgEdit *edits,
                        gsize n)
{
    GPtrArray *out = g_ptr_array_new();

    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];

        for (gsize e = 0; e < n; e++) {
            if (edits[e].index == i && edits[e].value != NULL)
                word = edits[e].value;
        }
        g_ptr_array_add(out, g_strdup(word));
    }
    for (gsize e = 0; e < n; e++) {
        if (edits[e].index < 0 && edits[e].value != NULL) {
            g_ptr_array_add(out, g_strdup(edits[e].option));
            g_ptr_array_add(out, g_strdup(edits[e].value));
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/**
 * qm_cpuspec_free() - free a QmCpuSpec
 * @spec: spec, or NULL
 */
void qm_cpuspec_free(QmCpuSpec *spec)
{
    if (spec == NULL)
        return;
    g_free(spec->model);
    g_clear_pointer(&spec->settings, g_hash_table_unref);
    g_clear_pointer(&spec->props, g_hash_table_unref);
    g_free(spec);
}

/**
 * split_opts() - split a -cpu value into its items
 * @value: e.g. "host,model-id=foo,+pcid"
 *
 * Mirrors x86_cpu_parse_featurestr(): QEMU splits -cpu at every comma
 * (strtok), so ",," is not an escape there and empty items vanish.
 *
 * Return: new array of items, the model name first (possibly "")
 */
static GPtrArray *split_opts(const char *value)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) parts = g_strsplit(value, ",", -1);

    g_ptr_array_add(items, g_strdup(parts[0] ? parts[0] : ""));
    for (char **p = parts[0] ? parts + 1 : parts; *p; p++) {
        if (**p != '\0')
            g_ptr_array_add(items, g_strdup(*p));
    }
    return items;
}

/**
 * bool_word() - QEMU's spellings of a boolean property value
 * @word: value
 * @on:   where to store the meaning
 *
 * Return: TRUE if @word is one of on/off/yes/no/true/false/y/n
 */
static gboolean bool_word(const char *word, gboolean *on)
{
    /* qapi_bool_parse(): "y" and "n" too */
    static const char *const yes[] = {"on", "yes", "true", "y"};
    static const char *const no[] = {"off", "no", "false", "n"};

    if (in_table(word, yes, G_N_ELEMENTS(yes))) {
        *on = TRUE;
        return TRUE;
    }
    if (in_table(word, no, G_N_ELEMENTS(no))) {
        *on = FALSE;
        return TRUE;
    }
    return FALSE;
}

/**
 * metric_size() - a number with an optional metric suffix, as
 *                 qemu_strtosz_metric() reads it
 * @text:  e.g. "2500000000", "2.5G", "2200M"
 * @value: where to store it
 *
 * Return: TRUE if @text is one
 */
static gboolean metric_size(const char *text, gint64 *value)
{
    static const char suffixes[] = "BKMGTPE";
    char *end = NULL;
    double v;
    const char *at;
    double mul = 1;

    if (!g_ascii_isdigit(*text))
        return FALSE;
    v = g_ascii_strtod(text, &end);
    if (end == text)
        return FALSE;
    if (*end != '\0') {
        at = strchr(suffixes, g_ascii_toupper(*end));
        if (at == NULL || end[1] != '\0')
            return FALSE;
        for (const char *p = suffixes; p < at; p++)
            mul *= 1000;
    } else if (strchr(text, '.') != NULL) {
        return FALSE; /* a fraction needs a unit */
    }
    v *= mul;
    if (v < 0 || v > (double)G_MAXINT64)
        return FALSE;
    *value = (gint64)v;
    return TRUE;
}

/**
 * is_tsc_freq() - is a -cpu key QEMU's "tsc-freq"?
 * @key: key as written
 *
 * Return: TRUE for tsc-freq or tsc_freq, a frequency whatever its value
 */
static gboolean is_tsc_freq(const char *key)
{
    return strcmp(key, "tsc-freq") == 0 || strcmp(key, "tsc_freq") == 0;
}

/**
 * prop_name() - the property QEMU sets for a -cpu key
 * @key:   key as written
 * @value: its value, may be replaced
 * @error: set for a tsc-freq QEMU would refuse
 *
 * x86_cpu_parse_featurestr() turns every '_' into '-' (feat2prop()) and
 * reads "tsc-freq" as "tsc-frequency" in Hz, with metric suffixes: so
 * "tsc_freq=2.5G" is tsc-frequency=2500000000, and model_id is model-id.
 *
 * Return: newly allocated property name, or NULL on error
 */
static char *prop_name(const char *key, char **value, GError **error)
{
    g_autofree char *name = g_strdelimit(g_strdup(key), "_", '-');
    gint64 hz;

    if (!is_tsc_freq(key))
        return g_steal_pointer(&name);
    if (*value == NULL || !metric_size(*value, &hz)) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "-cpu %s=%s: not a frequency", key, *value ? *value : "");
        return NULL;
    }
    g_free(*value);
    *value = g_strdup_printf("%" G_GINT64_FORMAT, hz);
    return g_strdup("tsc-frequency");
}

/**
 * qm_cpuspec_parse() - parse a -cpu value
 * @value: e.g. "host,+pcid,-stibp,sse4_1=off,model-id=foo,,bar"
 * @spec:  where to store the result
 * @error: set when the value has no model name, or a tsc-freq QEMU
 *         would refuse
 *
 * Feature settings are keyed by canonical name, so "sse4_1=off" and
 * "-sse4.1" mean the same thing to qemu-mig, as they do to QEMU; other
 * properties by the name QEMU sets (prop_name()).
 *
 * Return: TRUE on success
 */
gboolean qm_cpuspec_parse(const char *value, QmCpuSpec **spec, GError **error)
{
    g_autoptr(GPtrArray) items = split_opts(value);
    g_autoptr(QmCpuSpec) out = g_new0(QmCpuSpec, 1);
    g_autoptr(GHashTable) forced =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const char *model = g_ptr_array_index(items, 0);
    GHashTableIter iter;
    gpointer name, state;

    if (*model == '\0' || strchr(model, '=') != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "-cpu %s: the value must start with a CPU model name",
                    value);
        return FALSE;
    }
    out->model = g_strdup(model);
    out->settings =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    out->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    for (guint i = 1; i < items->len; i++) {
        const char *item = g_ptr_array_index(items, i);
        const char *eq = strchr(item, '=');
        g_autofree char *key = eq ? g_strndup(item, eq - item) : g_strdup(item);
        g_autofree char *val = eq ? g_strdup(eq + 1) : NULL;
        gboolean on = TRUE;
        g_autofree char *canon = NULL;

        if (*item == '+' || *item == '-') {
            on = *item == '+';
            canon = qm_feature_canon(item + 1);
            /*
             * QEMU applies every +f after all f=on|off, then every -f
             * (x86_cpu_expand_features()): -f beats +f beats f=on|off,
             * whatever the order they were written in.
             */
            if (canon != NULL) {
                if (!on || !g_hash_table_contains(forced, canon))
                    g_hash_table_replace(forced, g_steal_pointer(&canon),
                                         on ? "on" : "off");
                continue;
            }
        } else if (!is_tsc_freq(key) && (val == NULL || bool_word(val, &on))) {
            canon = qm_feature_canon(key);
        }
        if (canon != NULL) {
            g_hash_table_replace(out->settings, g_steal_pointer(&canon),
                                 g_strdup(on ? "on" : "off"));
        } else if (*key != '\0') {
            g_autofree char *prop = prop_name(key, &val, error);

            if (prop == NULL)
                return FALSE;
            g_hash_table_replace(out->props, g_steal_pointer(&prop),
                                 g_strdup(val ? val : ""));
        }
    }
    g_hash_table_iter_init(&iter, forced);
    while (g_hash_table_iter_next(&iter, &name, &state))
        g_hash_table_replace(out->settings, g_strdup(name), g_strdup(state));
    *spec = g_steal_pointer(&out);
    return TRUE;
}

/**
 * qm_qemuargs_is_known_option() - is this a QEMU option name?
 * @name: option name without leading dashes
 *
 * Lets qemu-mig tell a mistyped option of its own ("--peeer") from a QEMU
 * option written with two dashes ("--enable-kvm").
 *
 * Return: TRUE if QEMU has an option of that name
 */
gboolean qm_qemuargs_is_known_option(const char *name)
{
    return in_table(name, noarg_options, G_N_ELEMENTS(noarg_options)) ||
           in_table(name, arg_options, G_N_ELEMENTS(arg_options));
}
