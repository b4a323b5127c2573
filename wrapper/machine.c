/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: one versioned machine type that every host has.  Pure.
 *
 * "-machine q35" means pc-q35-7.2 on QEMU 7.2 and pc-q35-8.2 on QEMU 8.2,
 * and QEMU only migrates between identical machine types.  So the alias
 * (or QEMU's default, when no -machine is given) is resolved on every host
 * and, when the hosts disagree, replaced by the newest versioned type of
 * the same family that all of them have.  Every host computes the same
 * answer from the same profiles.
 */
#include <string.h>

#include "error.h"
#include "machine.h"
#include "qemuargs.h"

/**
 * find_machine() - a host's machine entry by name or alias
 * @profile: host profile
 * @name:    machine type or alias
 *
 * Return: the entry, or NULL
 */
static const QmMachine *find_machine(const QmProfile *profile, const char *name)
{
    for (guint i = 0; profile->machines && i < profile->machines->len; i++) {
        const QmMachine *m = g_ptr_array_index(profile->machines, i);

        if (strcmp(m->name, name) == 0 || g_strcmp0(m->alias, name) == 0)
            return m;
    }
    return NULL;
}

/**
 * default_machine() - QEMU's default machine type on a host
 * @profile: host profile
 *
 * Return: the entry, or NULL
 */
static const QmMachine *default_machine(const QmProfile *profile)
{
    for (guint i = 0; profile->machines && i < profile->machines->len; i++) {
        const QmMachine *m = g_ptr_array_index(profile->machines, i);

        if (m->is_default)
            return m;
    }
    return NULL;
}

/**
 * split_version() - "pc-q35-7.2" -> family "pc-q35", version "7.2"
 * @name:    versioned machine type
 * @family:  where to store the family (newly allocated), or NULL
 *
 * The version is the part after the last '-' when it starts with a digit
 * ("7.2") or "rhel" (downstream "pc-q35-rhel9.4.0").
 *
 * Return: pointer into @name at the version, or NULL when unversioned
 */
static const char *split_version(const char *name, char **family)
{
    const char *dash = strrchr(name, '-');

    if (dash == NULL ||
        !(g_ascii_isdigit(dash[1]) || g_str_has_prefix(dash + 1, "rhel")))
        return NULL;
    if (family != NULL)
        *family = g_strndup(name, dash - name);
    return dash + 1;
}

/**
 * family_of() - the family of a machine type, for choosing a version
 * @name: machine type as a host resolved it
 *
 * "pc-q35-7.2" and "pc-q35-rhel9.4.0" are of family "pc-q35"; so are
 * distribution types that carry a release name instead of a version
 * ("pc-i440fx-jammy", Ubuntu's default, alias "ubuntu"), which are never
 * chosen themselves (they cannot be ordered) but must not make the answer
 * depend on which host computes it.
 *
 * Return: newly allocated family, or NULL for an unversioned type
 */
static char *family_of(const char *name)
{
    static const char *const families[] = {"pc-i440fx", "pc-q35"};
    char *family = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(families); i++) {
        gsize n = strlen(families[i]);

        if (strncmp(name, families[i], n) == 0 && name[n] == '-' &&
            name[n + 1] != '\0')
            return g_strdup(families[i]);
    }
    if (split_version(name, &family) == NULL)
        return NULL;
    return family;
}

/**
 * qm_machine_version_cmp() - order two version strings numerically
 * @a: e.g. "7.2", "10.0", "rhel9.4.0"
 * @b: likewise
 *
 * Return: <0, 0, >0 like strcmp()
 */
int qm_machine_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        while (*a && !g_ascii_isdigit(*a))
            a++;
        while (*b && !g_ascii_isdigit(*b))
            b++;
        if (!*a || !*b)
            return (*a != 0) - (*b != 0);
        {
            guint64 na = g_ascii_strtoull(a, (char **)&a, 10);
            guint64 nb = g_ascii_strtoull(b, (char **)&b, 10);

            if (na != nb)
                return na < nb ? -1 : 1;
        }
    }
    return 0;
}

/**
 * on_every_host() - does every host have this exact machine type?
 * @name:  machine type
 * @hosts: every host
 *
 * Return: TRUE if so
 */
static gboolean on_every_host(const char *name, GPtrArray *hosts)
{
    for (guint i = 0; i < hosts->len; i++) {
        const QmMachine *m = find_machine(g_ptr_array_index(hosts, i), name);

        if (m == NULL || strcmp(m->name, name) != 0)
            return FALSE;
    }
    return TRUE;
}

/**
 * newest_common() - newest versioned type of a family on every host
 * @family: e.g. "pc-q35"
 * @hosts:  every host
 *
 * Return: newly allocated name, or NULL when there is none
 */
static char *newest_common(const char *family, GPtrArray *hosts)
{
    const QmProfile *first = g_ptr_array_index(hosts, 0);
    const char *best = NULL;

    for (guint i = 0; first->machines && i < first->machines->len; i++) {
        const QmMachine *m = g_ptr_array_index(first->machines, i);
        g_autofree char *fam = NULL;
        const char *ver = split_version(m->name, &fam);

        if (ver == NULL || strcmp(fam, family) != 0 ||
            !on_every_host(m->name, hosts))
            continue;
        if (best == NULL ||
            qm_machine_version_cmp(ver, split_version(best, NULL)) > 0)
            best = m->name;
    }
    return g_strdup(best);
}

/**
 * machine_type() - the type a -machine value names
 * @value: -machine value, e.g. "q35,accel=kvm" or "type=q35" or "accel=kvm"
 * @rest:  where to store the value without the type item (newly allocated,
 *         possibly empty)
 *
 * Return: newly allocated type, or NULL when the value names none
 */
static char *machine_type(const char *value, char **rest)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);
    g_autoptr(GPtrArray) kept = g_ptr_array_new();
    char *type = NULL;

    for (guint i = 0; items[i]; i++) {
        if (i == 0 && strchr(items[i], '=') == NULL && *items[i])
            type = g_strdup(items[i]);
        else if (g_str_has_prefix(items[i], "type="))
            type = (g_free(type), g_strdup(items[i] + 5));
        else
            g_ptr_array_add(kept, items[i]);
    }
    g_ptr_array_add(kept, NULL);
    *rest = g_strjoinv(",", (char **)kept->pdata);
    return type;
}

/**
 * one_family() - the family every host's reading of the request is of
 * @asked:  machine type or alias asked for, or NULL for each default
 * @hosts:  every host
 * @family: where to store it (newly allocated)
 * @error:  set when the hosts disagree or a type has no version
 *
 * Every host must see the same family, whichever of them computes the
 * answer: the defaults of a RHEL (q35) and a Debian QEMU (i440fx) are not
 * one machine whose version is to be chosen.
 *
 * Return: TRUE when they agree
 */
static gboolean one_family(const char *asked, GPtrArray *hosts, char **family,
                           GError **error)
{
    const char *first = NULL;

    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);
        const QmMachine *m =
            asked ? find_machine(h, asked) : default_machine(h);
        g_autofree char *f = family_of(m->name);

        if (f == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "no version of machine type %s exists on every host "
                        "(%s has %s, which has no versions)",
                        asked ? asked : "(default)", h->name, m->name);
            return FALSE;
        }
        if (*family == NULL) {
            *family = g_steal_pointer(&f);
            first = m->name;
        } else if (strcmp(*family, f) != 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "machine type %s is %s on %s but %s on %s; name one "
                        "with -machine",
                        asked ? asked : "(default)", first,
                        ((const QmProfile *)g_ptr_array_index(hosts, 0))->name,
                        m->name, h->name);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * qm_machine_decide() - the machine type every host can run
 * @machine_value: the effective -machine/-M value, or NULL if none
 * @local:         local profile
 * @peers:         peer profiles
 * @new_value:     where to store the new -machine value (NULL: no change)
 * @warnings:      gets a warning when a type had to be replaced
 * @error:         set when no common type exists
 *
 * Other -machine sub-options stay as written; the type moves to the front.
 *
 * Return: TRUE on success
 */
gboolean qm_machine_decide(const char *machine_value, const QmProfile *local,
                           GPtrArray *peers, char **new_value,
                           GPtrArray *warnings, GError **error)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new();
    g_autofree char *rest = NULL;
    g_autofree char *asked =
        machine_value ? machine_type(machine_value, &rest) : NULL;
    g_autofree char *family = NULL;
    g_autofree char *chosen = NULL;
    const char *first_name = NULL;
    gboolean agree = TRUE;

    *new_value = NULL;
    g_ptr_array_add(hosts, (gpointer)local);
    for (guint i = 0; i < peers->len; i++)
        g_ptr_array_add(hosts, g_ptr_array_index(peers, i));

    /* Each host's own reading of the request. */
    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);
        const QmMachine *m;

        if (h->machines == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU did not report its machine types "
                        "(query-machines)",
                        h->name);
            return FALSE;
        }
        m = asked ? find_machine(h, asked) : default_machine(h);
        if (m == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "machine type %s is unknown to %s's QEMU %s",
                        asked ? asked : "(default)", h->name,
                        h->qemu_version ? h->qemu_version : "");
            return FALSE;
        }
        if (first_name == NULL)
            first_name = m->name;
        else if (strcmp(first_name, m->name) != 0)
            agree = FALSE;
    }

    if (!(agree && on_every_host(first_name, hosts)) &&
        !one_family(asked, hosts, &family, error))
        return FALSE;
    if (agree && on_every_host(first_name, hosts)) {
        chosen = g_strdup(first_name);
    } else if ((chosen = newest_common(family, hosts)) == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                    "no version of machine type %s exists on every host",
                    asked ? asked : first_name);
        return FALSE;
    } else {
        g_ptr_array_add(warnings,
                        g_strdup_printf("machine type %s means different "
                                        "versions on these hosts; using %s, "
                                        "the newest every host has",
                                        asked ? asked : "(default)", chosen));
    }

    if (asked != NULL && strcmp(asked, chosen) == 0 && machine_value &&
        strncmp(machine_value, chosen, strlen(chosen)) == 0)
        return TRUE;
    *new_value = rest != NULL && *rest ? g_strdup_printf("%s,%s", chosen, rest)
                                       : g_strdup(chosen);
    return TRUE;
}

/**
 * qm_machine_default_cpu() - the CPU model a machine type gets without -cpu
 * @machine_value: the effective -machine value, or NULL for the default
 * @profile:       the profile of the QEMU the command is for
 *
 * "-M isapc" starts a 486, pc and q35 a qemu64 (query-machines'
 * default-cpu-type): appending "-cpu qemu64,..." to an isapc would change
 * the guest.
 *
 * Return: the model name (owned by @profile), or NULL when unknown
 */
const char *qm_machine_default_cpu(const char *machine_value,
                                   const QmProfile *profile)
{
    g_autofree char *rest = NULL;
    g_autofree char *asked =
        machine_value ? machine_type(machine_value, &rest) : NULL;
    const QmMachine *m =
        asked ? find_machine(profile, asked) : default_machine(profile);

    return m != NULL ? m->default_cpu : NULL;
}

/**
 * qm_machine_with_type() - a -machine value naming another type
 * @value: -machine value, e.g. "q35,accel=kvm", or NULL for none
 * @type:  the type it is to name, e.g. "pc-q35-7.2"
 *
 * Every other item is kept as written.
 *
 * Return: newly allocated value
 */
char *qm_machine_with_type(const char *value, const char *type)
{
    g_autofree char *rest = NULL;
    g_autofree char *old = value ? machine_type(value, &rest) : NULL;

    return rest != NULL && *rest ? g_strdup_printf("%s,%s", type, rest)
                                 : g_strdup(type);
}

/**
 * qm_machine_find() - the -machine value that sets the machine type
 * @argc: number of QEMU arguments
 * @argv: QEMU arguments (without the binary)
 *
 * QEMU merges every -machine/-M option, later keys winning, so
 * "-machine q35 -machine accel=kvm" is a q35: the type comes from the last
 * value that names one, not from the last value.
 *
 * Return: index of that value, or -1 when none names a type (QEMU's
 * default machine)
 */
int qm_machine_find(int argc, char *const *argv)
{
    static const char *const names[] = {"machine", "M", NULL};
    g_autoptr(GArray) all = qm_qemuargs_find_all(argc, argv, names);

    for (guint i = all->len; i-- > 0;) {
        int index = g_array_index(all, int, i);
        g_autofree char *rest = NULL;
        g_autofree char *type = machine_type(argv[index], &rest);

        if (type != NULL)
            return index;
    }
    return -1;
}
