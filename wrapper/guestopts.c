/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what the rest of QEMU's command line says about the guest CPU,
 * machine and accelerator.  Pure.
 *
 * qemu-mig decides from each host's KVM host model and rewrites -cpu and
 * -machine.  A command line that sets the CPU some other way (-global on
 * a CPU type, a vCPU added with -device, a -readconfig file), that makes
 * the CPU copy the host (-overcommit cpu-pm=on) or that runs another
 * accelerator would get a guest CPU nobody checked: such a command is
 * refused before anything is probed, naming the option.  Only what QEMU
 * itself would accept is read; what it would refuse it refuses itself.
 */
#include <string.h>

#include "error.h"
#include "guestopts.h"
#include "qemuargs.h"

/**
 * first_item_key() - the value of the last "KEY=" item of an option value
 * @value: option value
 * @key:   key
 *
 * Return: newly allocated value, or NULL when no item has that key
 */
static char *first_item_key(const char *value, const char *key)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);
    g_autofree char *prefix = g_strconcat(key, "=", NULL);
    char *found = NULL;

    for (guint i = 0; items[i] != NULL; i++) {
        if (g_str_has_prefix(items[i], prefix)) {
            g_free(found);
            found = g_strdup(items[i] + strlen(prefix));
        }
    }
    return found;
}

/**
 * first_item() - the implied first item of a QEMU option value, or the
 *                value of one of its keys
 * @value: e.g. "kvm,kernel-irqchip=split" or "accel=kvm"
 * @key:   key that may name the same thing ("accel", "driver", "type")
 *
 * A "KEY=" item comes after the implied one, so the last of them is it.
 *
 * Return: newly allocated item, or NULL when the value names none
 */
static char *first_item(const char *value, const char *key)
{
    char *found = first_item_key(value, key);
    gsize n = strcspn(value, ",");

    if (found == NULL && n > 0 && memchr(value, '=', n) == NULL)
        found = g_strndup(value, n);
    return found;
}

/**
 * is_cpu_type() - is a QOM type name an x86 CPU (or their base type)?
 * @type: type name
 *
 * "host-x86_64-cpu", "EPYC-Rome-x86_64-cpu", "x86_64-cpu" and their
 * qemu-system-i386 spellings.
 *
 * Return: TRUE if so
 */
static gboolean is_cpu_type(const char *type)
{
    return strcmp(type, "x86_64-cpu") == 0 || strcmp(type, "i386-cpu") == 0 ||
           g_str_has_suffix(type, "-x86_64-cpu") ||
           g_str_has_suffix(type, "-i386-cpu");
}

/**
 * global_driver() - the driver a -global value sets a property of
 * @value: "DRIVER.PROP=VALUE" or "driver=DRIVER,property=PROP,value=V"
 *
 * Return: newly allocated driver name, or NULL
 */
static char *global_driver(const char *value)
{
    const char *dot, *eq;

    if (g_str_has_prefix(value, "driver=") || strstr(value, ",driver="))
        return first_item(value, "driver");
    dot = strchr(value, '.');
    eq = strchr(value, '=');
    if (dot == NULL || (eq != NULL && eq < dot))
        return NULL;
    return g_strndup(value, dot - value);
}

/**
 * device_driver() - the driver a -device value creates
 * @value: "DRIVER,..." or JSON '{"driver": "DRIVER", ...}'
 *
 * Return: newly allocated driver name, or NULL
 */
static char *device_driver(const char *value)
{
    const char *at;

    if (value[0] != '{')
        return first_item(value, "driver");
    /* JSON: enough to find the driver member, QEMU checks the rest */
    at = strstr(value, "\"driver\"");
    if (at == NULL)
        return NULL;
    at = strchr(at + strlen("\"driver\""), '"');
    if (at == NULL)
        return NULL;
    at++;
    return g_strndup(at, strcspn(at, "\""));
}

/**
 * item_on() - is "KEY=on" (any of QEMU's spellings of true) an item?
 * @value: option value
 * @key:   key
 *
 * Return: TRUE if the last KEY= item says on
 */
static gboolean item_on(const char *value, const char *key)
{
    static const char *const yes[] = {"on", "yes", "true", "y", NULL};
    g_autofree char *state = first_item_key(value, key);

    return state != NULL && g_strv_contains(yes, state);
}

/**
 * each_value() - the values of every occurrence of some options
 * @argc:  number of QEMU arguments
 * @argv:  QEMU arguments
 * @name:  option name without dashes
 * @alias: another name of the same option, or NULL
 *
 * Return: new array of borrowed strings, in order
 */
static GPtrArray *each_value(int argc, char *const *argv, const char *name,
                             const char *alias)
{
    const char *names[] = {name, alias, NULL};
    g_autoptr(GArray) at = qm_qemuargs_find_all(argc, argv, names);
    GPtrArray *values = g_ptr_array_new();

    for (guint i = 0; i < at->len; i++)
        g_ptr_array_add(values, argv[g_array_index(at, int, i)]);
    return values;
}

/**
 * check_accel() - the accelerator QEMU will try first must be KVM
 * @argc: number of QEMU arguments
 * @argv: QEMU arguments
 * @out:  gets add_accel when none is named
 * @error: set for another accelerator first
 *
 * -accel and -enable-kvm name accelerators in the order QEMU tries them;
 * "-machine accel=a:b" is the older list (QEMU refuses both forms
 * together).  With none, qemu-system-x86_64 runs TCG, whose CPU is not
 * the KVM host model every profile describes.
 *
 * Return: TRUE when KVM comes first, or nothing is named
 */
static gboolean check_accel(int argc, char *const *argv, QmGuestOpts *out,
                            GError **error)
{
    static const char *const names[] = {"accel", "enable-kvm", NULL};
    g_autoptr(GArray) at = qm_qemuargs_find_options(argc, argv, names);
    g_autoptr(GPtrArray) machines = each_value(argc, argv, "machine", "M");
    g_autofree char *first = NULL;
    g_autofree char *option = NULL;

    for (guint i = 0; i < at->len && first == NULL; i++) {
        int w = g_array_index(at, int, i);

        if (strstr(argv[w], "enable-kvm") != NULL) {
            first = g_strdup("kvm");
            option = g_strdup(argv[w]);
        } else if (w + 1 < argc) {
            first = first_item(argv[w + 1], "accel");
            option = g_strdup_printf("%s %s", argv[w], argv[w + 1]);
        }
    }
    /* -machine values merge, later keys winning */
    for (guint j = machines->len; first == NULL && j-- > 0;) {
        g_autofree char *list =
            first_item_key(g_ptr_array_index(machines, j), "accel");

        if (list != NULL) {
            first = g_strndup(list, strcspn(list, ":"));
            option = g_strdup_printf("-machine accel=%s", list);
        }
    }
    if (first == NULL) {
        out->add_accel = TRUE;
        return TRUE;
    }
    if (strcmp(first, "kvm") != 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "%s: QEMU would try %s first, but every host profile "
                    "is that host's KVM CPU; use -accel kvm",
                    option, first);
        return FALSE;
    }
    return TRUE;
}

/**
 * qm_guestopts_check() - read what QEMU's options say about the guest's
 *                        CPU, machine and accelerator, refusing what
 *                        qemu-mig cannot vouch for
 * @argc:  number of QEMU arguments
 * @argv:  QEMU arguments (without the binary)
 * @out:   verdict
 * @error: QM_ERROR_USAGE naming the option for a CPU set outside -cpu,
 *         -readconfig, or another accelerator; QM_ERROR_INCOMPATIBLE for
 *         -overcommit cpu-pm=on
 *
 * Only called when there is something to decide (peers, or -cpu auto).
 *
 * Return: TRUE when qemu-mig can decide for this command line
 */
gboolean qm_guestopts_check(int argc, char *const *argv, QmGuestOpts *out,
                            GError **error)
{
    g_autoptr(GPtrArray) globals = each_value(argc, argv, "global", NULL);
    g_autoptr(GPtrArray) devices = each_value(argc, argv, "device", NULL);
    g_autoptr(GPtrArray) overcommit =
        each_value(argc, argv, "overcommit", NULL);
    g_autoptr(GPtrArray) readconfig =
        each_value(argc, argv, "readconfig", NULL);
    g_autoptr(GPtrArray) machines = each_value(argc, argv, "machine", "M");

    *out = (QmGuestOpts){0};
    /* the type is the last one named (-machine values merge) */
    for (guint j = machines->len; j-- > 0;) {
        g_autofree char *type =
            first_item(g_ptr_array_index(machines, j), "type");

        if (type != NULL) {
            out->no_guest = strcmp(type, "none") == 0;
            break;
        }
    }
    if (out->no_guest)
        return TRUE;

    for (guint i = 0; i < readconfig->len; i++) {
        g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                    "-readconfig %s: qemu-mig reads the command line only, "
                    "and a [machine] or CPU setting in the file would "
                    "escape it; put them on the command line",
                    (char *)g_ptr_array_index(readconfig, i));
        return FALSE;
    }
    for (guint i = 0; i < globals->len; i++) {
        const char *value = g_ptr_array_index(globals, i);
        g_autofree char *driver = global_driver(value);

        if (driver != NULL && is_cpu_type(driver)) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "-global %s: a CPU property set with -global is "
                        "not seen by qemu-mig (and may be undone by what "
                        "it adds to -cpu); write it in -cpu",
                        value);
            return FALSE;
        }
    }
    for (guint i = 0; i < devices->len; i++) {
        const char *value = g_ptr_array_index(devices, i);
        g_autofree char *driver = device_driver(value);

        if (driver != NULL && is_cpu_type(driver)) {
            g_set_error(error, QM_ERROR, QM_ERROR_USAGE,
                        "-device %s: a vCPU added with -device does not "
                        "get the CPU qemu-mig writes into -cpu; use -smp "
                        "(and device_add with the -cpu model later)",
                        value);
            return FALSE;
        }
    }
    for (guint i = 0; i < overcommit->len; i++) {
        const char *value = g_ptr_array_index(overcommit, i);

        if (item_on(value, "cpu-pm")) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "-overcommit %s: cpu-pm=on gives the guest the "
                        "host's MONITOR/MWAIT and power-management leaf "
                        "(CPUID 5), which no probe covers and which differ "
                        "from host to host",
                        value);
            return FALSE;
        }
    }
    return check_accel(argc, argv, out, error);
}
