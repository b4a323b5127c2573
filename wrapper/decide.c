/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: deciding what the guest CPU may contain, given every host's
 * profile.  Pure: no I/O, no clock, so the same profiles give the same
 * -cpu value on every host that runs it.
 */
#include <string.h>

#include "decide.h"
#include "error.h"
#include "feature.h"

/*
 * QEMU's default CPU model for every x86 machine type; with no -cpu the
 * guest gets this model, so it is checked like any named model.
 */
#define DEFAULT_MODEL "qemu64"

/**
 * hidden_free() - free a QmHidden
 * @hidden: entry
 */
static void hidden_free(QmHidden *hidden)
{
    g_free(hidden->name);
    g_ptr_array_unref(hidden->lacking);
    g_free(hidden);
}

/**
 * qm_decision_free() - free a QmDecision
 * @decision: decision, or NULL
 */
void qm_decision_free(QmDecision *decision)
{
    if (decision == NULL)
        return;
    g_free(decision->mode);
    g_free(decision->model);
    g_ptr_array_unref(decision->hidden);
    g_ptr_array_unref(decision->warnings);
    g_free(decision->cpu_value);
    g_free(decision);
}

/**
 * all_hosts() - local profile followed by the peers'
 * @local: local profile
 * @peers: peer profiles
 *
 * Return: new array of borrowed profiles
 */
static GPtrArray *all_hosts(const QmProfile *local, GPtrArray *peers)
{
    GPtrArray *hosts = g_ptr_array_new();

    g_ptr_array_add(hosts, (gpointer)local);
    for (guint i = 0; i < peers->len; i++)
        g_ptr_array_add(hosts, g_ptr_array_index(peers, i));
    return hosts;
}

/**
 * check_vendors() - refuse (or warn about) hosts of different vendors
 * @hosts:    every host
 * @flags:    QM_DECIDE_* flags
 * @warnings: where a warning goes when the mismatch is allowed
 * @error:    set on a refused mismatch
 *
 * A guest cannot move between vendors with -cpu host: CPUID vendor,
 * family/model and vendor-specific bits (svm/vmx) would all change.
 *
 * Return: TRUE when the vendors agree or the user allowed the mismatch
 */
static gboolean check_vendors(GPtrArray *hosts, unsigned flags,
                              GPtrArray *warnings, GError **error)
{
    const QmProfile *first = g_ptr_array_index(hosts, 0);
    g_autoptr(GString) list = g_string_new(NULL);
    gboolean differ = FALSE;

    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *host = g_ptr_array_index(hosts, i);

        if (g_strcmp0(host->vendor, first->vendor) != 0)
            differ = TRUE;
        g_string_append_printf(list, "%s%s is %s", i ? ", " : "", host->name,
                               host->vendor);
    }
    if (!differ)
        return TRUE;
    if (!(flags & QM_DECIDE_ALLOW_CROSS_VENDOR)) {
        g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                    "CPU vendors differ (%s); use --allow-cross-vendor to "
                    "proceed anyway",
                    list->str);
        return FALSE;
    }
    g_ptr_array_add(warnings,
                    g_strdup_printf("CPU vendors differ (%s): allowed by "
                                    "--allow-cross-vendor",
                                    list->str));
    return TRUE;
}

/**
 * add_hidden() - record a feature to turn off and who lacks it
 * @hidden:  QmHidden array
 * @index:   name -> QmHidden, for merging
 * @name:    canonical feature name
 * @host:    name of a host lacking it
 */
static void add_hidden(GPtrArray *hidden, GHashTable *index, const char *name,
                       const char *host)
{
    QmHidden *entry = g_hash_table_lookup(index, name);

    if (entry == NULL) {
        entry = g_new0(QmHidden, 1);
        entry->name = g_strdup(name);
        entry->lacking = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(hidden, entry);
        g_hash_table_insert(index, entry->name, entry);
    }
    for (guint i = 0; i < entry->lacking->len; i++) {
        if (strcmp(g_ptr_array_index(entry->lacking, i), host) == 0)
            return;
    }
    g_ptr_array_add(entry->lacking, g_strdup(host));
}

/**
 * cmp_hidden() - sort QmHidden entries by name
 * @a: pointer to first entry pointer
 * @b: pointer to second entry pointer
 *
 * Return: strcmp() order
 */
static int cmp_hidden(gconstpointer a, gconstpointer b)
{
    const QmHidden *ha = *(const QmHidden *const *)a;
    const QmHidden *hb = *(const QmHidden *const *)b;

    return strcmp(ha->name, hb->name);
}

/**
 * check_requested() - every feature the user turns on must exist everywhere
 * @spec:  parsed -cpu value
 * @hosts: every host
 * @error: set naming the feature and the first host lacking it
 *
 * Return: TRUE when every requested feature is provided by every host
 */
static gboolean check_requested(const QmCpuSpec *spec, GPtrArray *hosts,
                                GError **error)
{
    g_autoptr(GList) keys = g_hash_table_get_keys(spec->settings);

    keys = g_list_sort(keys, (GCompareFunc)strcmp);
    for (GList *l = keys; l != NULL; l = l->next) {
        const char *name = l->data;

        if (strcmp(g_hash_table_lookup(spec->settings, name), "on") != 0 ||
            qm_feature_is_option(name))
            continue;
        for (guint i = 0; i < hosts->len; i++) {
            const QmProfile *host = g_ptr_array_index(hosts, i);

            if (!qm_featset_has(host->features, name)) {
                g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                            "-cpu %s: feature %s is requested on, but %s "
                            "cannot provide it (not in its KVM host model, "
                            "or not migratable)",
                            spec->model, name, host->name);
                return FALSE;
            }
        }
    }
    return TRUE;
}

/**
 * hide_host_mode() - features to hide for -cpu host / max
 * @local:  local profile
 * @hosts:  every host (local first)
 * @hidden: QmHidden array to fill
 * @index:  name -> QmHidden
 *
 * The guest starts from the local host model, so only features the local
 * host provides matter; each one some other host lacks is hidden.
 */
static void hide_host_mode(const QmProfile *local, GPtrArray *hosts,
                           GPtrArray *hidden, GHashTable *index)
{
    g_autoptr(GPtrArray) features = qm_featset_sorted(local->features);

    for (guint f = 0; f < features->len; f++) {
        const char *name = g_ptr_array_index(features, f);

        for (guint i = 1; i < hosts->len; i++) {
            const QmProfile *host = g_ptr_array_index(hosts, i);

            if (!qm_featset_has(host->features, name))
                add_hidden(hidden, index, name, host->name);
        }
    }
}

/**
 * hide_named_mode() - features to hide for a named CPU model
 * @model:  model name as the user wrote it
 * @hosts:  every host (local first)
 * @hidden: QmHidden array to fill
 * @index:  name -> QmHidden
 * @warnings: warnings array
 * @error:  set when some host cannot run the model at all
 *
 * QEMU silently filters a model's features a host cannot provide, so the
 * same model name means different guests on different hosts.  Turning off
 * every feature unavailable on any host makes them equal.
 *
 * Return: TRUE on success
 */
static gboolean hide_named_mode(const char *model, GPtrArray *hosts,
                                GPtrArray *hidden, GHashTable *index,
                                GPtrArray *warnings, GError **error)
{
    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *host = g_ptr_array_index(hosts, i);
        const QmCpuModel *def;

        if (host->cpu_models == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "%s: QEMU %s did not report its CPU models "
                        "(query-cpu-definitions), so -cpu %s cannot be "
                        "checked there",
                        host->name,
                        host->qemu_version ? host->qemu_version : "", model);
            return FALSE;
        }
        def = qm_profile_find_model(host, model);
        if (def == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "CPU model %s is unknown to %s's QEMU %s", model,
                        host->name,
                        host->qemu_version ? host->qemu_version : "");
            return FALSE;
        }
        if (def->unnamed_unavailable) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "%s: QEMU reports an unnamed unavailable feature for "
                        "CPU model %s, which cannot be turned off by name; "
                        "use another model or a newer QEMU there",
                        host->name, model);
            return FALSE;
        }
        if (def->deprecated && i == 0)
            g_ptr_array_add(warnings,
                            g_strdup_printf("CPU model %s is deprecated in "
                                            "QEMU %s",
                                            model, host->qemu_version));
        for (guint f = 0; f < def->unavailable->len; f++)
            add_hidden(hidden, index, g_ptr_array_index(def->unavailable, f),
                       host->name);
    }
    return TRUE;
}

/**
 * build_value() - the new -cpu value
 * @original: the user's value, kept byte for byte as the prefix
 * @spec:     parsed user value
 * @hidden:   sorted QmHidden array
 *
 * Return: newly allocated value, or NULL when nothing needs appending
 */
static char *build_value(const char *original, const QmCpuSpec *spec,
                         GPtrArray *hidden)
{
    g_autoptr(GString) value = g_string_new(original);
    gboolean changed = FALSE;

    for (guint i = 0; i < hidden->len; i++) {
        const QmHidden *entry = g_ptr_array_index(hidden, i);
        const char *user = g_hash_table_lookup(spec->settings, entry->name);

        /* the user's own "off" already does it; no duplicates */
        if (g_strcmp0(user, "off") == 0)
            continue;
        g_string_append_printf(value, ",%s=off", entry->name);
        changed = TRUE;
    }
    return changed ? g_string_free(g_steal_pointer(&value), FALSE) : NULL;
}

/**
 * qm_decide() - what to change on the command line so every host can run
 *               the guest
 * @cpu_value: the effective -cpu value, or NULL when there is none
 * @local:     local host profile
 * @peers:     QmProfile of every peer
 * @flags:     QM_DECIDE_* flags
 * @decision:  where to store the result
 * @error:     set when the hosts cannot give one guest CPU
 *
 * Return: TRUE on success
 */
gboolean qm_decide(const char *cpu_value, const QmProfile *local,
                   GPtrArray *peers, unsigned flags, QmDecision **decision,
                   GError **error)
{
    g_autoptr(QmDecision) out = g_new0(QmDecision, 1);
    g_autoptr(GPtrArray) hosts = all_hosts(local, peers);
    g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(QmCpuSpec) spec = NULL;
    const char *value = cpu_value ? cpu_value : DEFAULT_MODEL;

    out->hidden = g_ptr_array_new_with_free_func((GDestroyNotify)hidden_free);
    out->warnings = g_ptr_array_new_with_free_func(g_free);

    if (!check_vendors(hosts, flags, out->warnings, error))
        return FALSE;
    if (!qm_cpuspec_parse(value, &spec, error))
        return FALSE;
    out->model = g_strdup(spec->model);

    if (strcmp(spec->model, "host") == 0 || strcmp(spec->model, "max") == 0) {
        out->mode = g_strdup(spec->model);
        if (strcmp(spec->model, "max") == 0)
            g_ptr_array_add(out->warnings,
                            g_strdup("-cpu max is treated like -cpu host: "
                                     "under KVM both start from the host "
                                     "model"));
        hide_host_mode(local, hosts, out->hidden, index);
    } else {
        out->mode = g_strdup(cpu_value ? "named" : "default");
        if (!hide_named_mode(spec->model, hosts, out->hidden, index,
                             out->warnings, error))
            return FALSE;
    }
    if (!check_requested(spec, hosts, error))
        return FALSE;

    g_ptr_array_sort(out->hidden, cmp_hidden);
    out->cpu_value = build_value(value, spec, out->hidden);
    out->add_cpu = cpu_value == NULL && out->cpu_value != NULL;
    *decision = g_steal_pointer(&out);
    return TRUE;
}
