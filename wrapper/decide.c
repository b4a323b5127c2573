/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: deciding what the guest CPU may contain, given every host's
 * profile.  Pure: no I/O, no clock, so the same profiles give the same
 * -cpu value on every host that runs it.
 */
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "error.h"
#include "feature.h"
#include "machine.h"

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
    g_ptr_array_unref(decision->settings);
    g_ptr_array_unref(decision->candidates);
    g_free(decision->machine_value);
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

            if (!qm_featset_has(host->features, name) &&
                !(strcmp(name, "invtsc") == 0 &&
                  qm_featset_has(host->unmigratable, name))) {
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
 * Every feature that some host has and another lacks is hidden, not only
 * those the local host has: then every host computes the very same -cpu
 * value (issue: both sides' commands byte-identical).  Turning off a
 * feature a host lacks is a no-op for QEMU; only names the local QEMU
 * knows can be written, which is every relevant one unless QEMU versions
 * differ in vocabulary.
 */
static void hide_host_mode(const QmProfile *local, GPtrArray *hosts,
                           GPtrArray *hidden, GHashTable *index)
{
    for (guint h = 0; h < hosts->len; h++) {
        const QmProfile *owner = g_ptr_array_index(hosts, h);
        g_autoptr(GPtrArray) features = qm_featset_sorted(owner->features);

        for (guint f = 0; f < features->len; f++) {
            const char *name = g_ptr_array_index(features, f);

            if (!qm_featset_has(local->known, name))
                continue;
            for (guint i = 0; i < hosts->len; i++) {
                const QmProfile *host = g_ptr_array_index(hosts, i);

                if (!qm_featset_has(host->features, name))
                    add_hidden(hidden, index, name, host->name);
            }
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
 * user_sets() - did the user's -cpu value set this property or feature?
 * @spec: parsed -cpu value
 * @key:  property or canonical feature name
 *
 * Return: TRUE if so: the user's word then stands and qemu-mig adds none
 */
static gboolean user_sets(const QmCpuSpec *spec, const char *key)
{
    return g_hash_table_contains(spec->props, key) ||
           g_hash_table_contains(spec->settings, key);
}

/**
 * add_setting() - append ",key=value" with the reason for explain
 * @extra:    the suffix being built
 * @settings: reasons array
 * @key:      property
 * @value:    value
 * @why:      reason, for people
 */
static void add_setting(GString *extra, GPtrArray *settings, const char *key,
                        const char *value, const char *why)
{
    g_string_append_printf(extra, ",%s=%s", key, value);
    g_ptr_array_add(settings, g_strdup_printf("%s=%s: %s", key, value, why));
}

/**
 * cmp_signature() - order hosts by CPU signature, then brand string
 * @a: first profile
 * @b: second profile
 *
 * Return: <0, 0, >0
 */
static int cmp_signature(const QmProfile *a, const QmProfile *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    if (a->model != b->model)
        return a->model < b->model ? -1 : 1;
    if (a->stepping != b->stepping)
        return a->stepping < b->stepping ? -1 : 1;
    return g_strcmp0(a->model_id, b->model_id);
}

/**
 * set_identity() - one CPU signature for the guest on every host
 * @spec:     parsed -cpu value
 * @hosts:    every host
 * @extra:    suffix being built
 * @settings: reasons
 *
 * -cpu host copies each host's family/model/stepping/model-id, so a guest
 * would see its CPU change under it.  The rule: the signature of the host
 * with the lowest (family, model, stepping, model-id), i.e. normally the
 * oldest CPU - software that checks signatures then sees a CPU at least as
 * old as every host.  Only when the hosts differ.
 */
static void set_identity(const QmCpuSpec *spec, GPtrArray *hosts,
                         GString *extra, GPtrArray *settings)
{
    const QmProfile *pick = g_ptr_array_index(hosts, 0);
    gboolean differ = FALSE;
    g_autofree char *family = NULL, *model = NULL, *stepping = NULL;
    g_autofree char *model_id = NULL;
    g_autofree char *why = NULL;

    for (guint i = 1; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);

        differ |= cmp_signature(h, pick) != 0;
        if (cmp_signature(h, pick) < 0)
            pick = h;
    }
    if (!differ)
        return;
    why = g_strdup_printf("hosts differ in CPU signature; %s's (the lowest) "
                          "on every host",
                          pick->name);
    family = g_strdup_printf("%" G_GINT64_FORMAT, pick->family);
    model = g_strdup_printf("%" G_GINT64_FORMAT, pick->model);
    stepping = g_strdup_printf("%" G_GINT64_FORMAT, pick->stepping);
    /* QEMU splits -cpu at every comma: a brand string cannot hold one */
    model_id =
        g_strdelimit(g_strdup(pick->model_id ? pick->model_id : ""), ",", ' ');
    if (!user_sets(spec, "family"))
        add_setting(extra, settings, "family", family, why);
    if (!user_sets(spec, "model"))
        add_setting(extra, settings, "model", model, why);
    if (!user_sets(spec, "stepping"))
        add_setting(extra, settings, "stepping", stepping, why);
    if (!user_sets(spec, "model-id"))
        add_setting(extra, settings, "model-id", model_id, why);
    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);

        if (g_strcmp0(h->vendor, pick->vendor) != 0 &&
            !user_sets(spec, "vendor")) {
            add_setting(extra, settings, "vendor", pick->vendor,
                        "hosts differ in vendor (--allow-cross-vendor)");
            break;
        }
    }
}

/**
 * set_phys_bits() - one physical address width for the guest
 * @spec:      parsed -cpu value
 * @hosts:     every host
 * @host_mode: -cpu host/max (host-phys-bits is on by default there)
 * @extra:     suffix being built
 * @settings:  reasons
 * @warnings:  warnings
 *
 * A guest that saw 46 bits on one host cannot run where only 39 exist, and
 * its memory map must not change: when the hosts differ, the smallest
 * width is set explicitly.  When they agree nothing is added (each host
 * gives the same width).  Named models default to 40 bits: capped at the
 * smallest host width when that is below.
 */
static void set_phys_bits(const QmCpuSpec *spec, GPtrArray *hosts,
                          gboolean host_mode, GString *extra,
                          GPtrArray *settings, GPtrArray *warnings)
{
    gint64 min = G_MAXINT64, max = 0;
    g_autofree char *value = NULL;

    if (user_sets(spec, "phys-bits") || user_sets(spec, "host-phys-bits"))
        return;
    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);

        if (h->phys_bits <= 0) {
            g_ptr_array_add(warnings,
                            g_strdup_printf("%s: physical address width "
                                            "unknown (QEMU could not tell); "
                                            "phys-bits not equalised",
                                            h->name));
            return;
        }
        min = MIN(min, h->phys_bits);
        max = MAX(max, h->phys_bits);
    }
    value = g_strdup_printf("%" G_GINT64_FORMAT, min);
    if (host_mode && min != max) {
        add_setting(extra, settings, "host-phys-bits", "off",
                    "hosts differ in physical address width");
        add_setting(extra, settings, "phys-bits", value,
                    "the smallest width of all hosts");
    } else if (!host_mode && min < 40) {
        add_setting(extra, settings, "phys-bits", value,
                    "a host has fewer than the named model's 40 bits");
    }
}

/**
 * set_pmu() - the same PMU view on every host
 * @spec:     parsed -cpu value
 * @hosts:    every host
 * @extra:    suffix being built
 * @settings: reasons
 *
 * With -cpu host, KVM passes the host PMU's version, counters and LBR
 * format through; they follow the CPU model, so hosts of different
 * family/model would show the guest a different PMU after migration.
 * Then the PMU is turned off rather than changed under the guest.
 */
static void set_pmu(const QmCpuSpec *spec, GPtrArray *hosts, GString *extra,
                    GPtrArray *settings)
{
    const QmProfile *first = g_ptr_array_index(hosts, 0);

    if (user_sets(spec, "pmu"))
        return;
    for (guint i = 1; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);

        if (h->family != first->family || h->model != first->model ||
            g_strcmp0(h->vendor, first->vendor) != 0) {
            add_setting(extra, settings, "pmu", "off",
                        "hosts' PMUs differ (family/model), and a guest's "
                        "PMU must not change on migration");
            return;
        }
    }
}

/**
 * can_scale_tsc() - can KVM on this host give a guest any TSC frequency?
 * @h: host profile
 *
 * Return: TRUE with AMD's tsc-scale or Intel's VMX TSC scaling
 */
static gboolean can_scale_tsc(const QmProfile *h)
{
    return qm_featset_has(h->features, "tsc-scale") ||
           qm_featset_has(h->features, "vmx-tsc-scaling");
}

/**
 * within_ppm() - are two frequencies within KVM's tolerance?
 * @a: Hz
 * @b: Hz
 *
 * KVM accepts a requested TSC frequency within tsc_tolerance_ppm (250) of
 * the host's without scaling.
 *
 * Return: TRUE if |a-b| <= 250 ppm of a
 */
static gboolean within_ppm(gint64 a, gint64 b)
{
    return (a > b ? a - b : b - a) * 1000000 <= a * 250;
}

/**
 * set_tsc() - a TSC frequency every host can serve, for invtsc
 * @spec:     parsed -cpu value
 * @hosts:    every host
 * @extra:    suffix being built
 * @settings: reasons
 * @error:    set when no common frequency exists
 *
 * QEMU refuses to migrate a guest with invtsc unless tsc-frequency is set,
 * and the destination must then run the TSC at that frequency: hosts that
 * can scale serve any frequency, the others only their own (within 250
 * ppm).  The rule: the lowest frequency among the hosts that cannot scale
 * (they must agree within 250 ppm), else the lowest host frequency when
 * all can scale.
 *
 * Return: TRUE on success (or when invtsc is not requested)
 */
static gboolean set_tsc(const QmCpuSpec *spec, GPtrArray *hosts, GString *extra,
                        GPtrArray *settings, GError **error)
{
    const char *given = g_hash_table_lookup(spec->props, "tsc-frequency");
    gint64 want = 0, fixed = 0, lowest = 0;
    const QmProfile *fixed_host = NULL, *fixed_high = NULL;
    g_autofree char *value = NULL;

    if (g_strcmp0(g_hash_table_lookup(spec->settings, "invtsc"), "on") != 0)
        return TRUE;
    if (given != NULL)
        want = g_ascii_strtoll(given, NULL, 10);

    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);

        if (h->tsc_hz <= 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "invtsc: %s's TSC frequency is unknown (its QEMU "
                        "could not tell), so no common frequency can be "
                        "chosen",
                        h->name);
            return FALSE;
        }
        lowest = lowest ? MIN(lowest, h->tsc_hz) : h->tsc_hz;
        if (can_scale_tsc(h))
            continue;
        /* lowest and highest fixed host: the order of hosts must not
         * matter, or the two sides of a migration would disagree */
        if (fixed_host == NULL || h->tsc_hz < fixed ||
            (h->tsc_hz == fixed && strcmp(h->name, fixed_host->name) < 0)) {
            fixed_host = h;
            fixed = h->tsc_hz;
        }
        if (fixed_high == NULL || h->tsc_hz > fixed_high->tsc_hz)
            fixed_high = h;
        if (want > 0 && !within_ppm(want, h->tsc_hz)) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "invtsc: %s cannot scale its TSC and runs at %.3f "
                        "MHz, not the requested tsc-frequency=%s",
                        h->name, h->tsc_hz / 1e6, given);
            return FALSE;
        }
    }
    if (fixed_host != NULL && !within_ppm(fixed, fixed_high->tsc_hz)) {
        g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                    "invtsc: %s (%.3f MHz) and %s (%.3f MHz) cannot scale "
                    "their TSC and run at different frequencies",
                    fixed_host->name, fixed / 1e6, fixed_high->name,
                    fixed_high->tsc_hz / 1e6);
        return FALSE;
    }
    if (want > 0)
        return TRUE;
    /* KVM works in kHz */
    value = g_strdup_printf("%" G_GINT64_FORMAT,
                            (fixed_host ? fixed : lowest) / 1000 * 1000);
    add_setting(extra, settings, "tsc-frequency", value,
                fixed_host ? "invtsc needs a fixed TSC frequency: the one of "
                             "the hosts that cannot scale"
                           : "invtsc needs a fixed TSC frequency: the lowest, "
                             "every host scales");
    return TRUE;
}

/**
 * check_migratable() - refuse requested features QEMU will not migrate
 * @spec:  parsed -cpu value
 * @hosts: every host
 * @error: set naming the feature
 *
 * invtsc is the one non-migratable feature QEMU lets migrate, once
 * tsc-frequency is set (set_tsc() sees to it).
 *
 * Return: TRUE if nothing non-migratable is requested
 */
static gboolean check_migratable(const QmCpuSpec *spec, GPtrArray *hosts,
                                 GError **error)
{
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init(&iter, spec->settings);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (strcmp(value, "on") != 0 || strcmp(key, "invtsc") == 0)
            continue;
        for (guint i = 0; i < hosts->len; i++) {
            const QmProfile *h = g_ptr_array_index(hosts, i);

            if (qm_featset_has(h->unmigratable, key)) {
                g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                            "-cpu: feature %s is not migratable (QEMU only "
                            "offers it with migratable=off on %s)",
                            (char *)key, h->name);
                return FALSE;
            }
        }
    }
    return TRUE;
}

/**
 * warn_versions() - warn about peers running an older QEMU
 * @local:    local profile
 * @peers:    peer profiles
 * @warnings: warnings
 */
static void warn_versions(const QmProfile *local, GPtrArray *peers,
                          GPtrArray *warnings)
{
    for (guint i = 0; i < peers->len; i++) {
        const QmProfile *p = g_ptr_array_index(peers, i);

        if (local->qemu_version && p->qemu_version &&
            qm_machine_version_cmp(p->qemu_version, local->qemu_version) < 0)
            g_ptr_array_add(warnings,
                            g_strdup_printf("%s runs QEMU %s, older than "
                                            "%s's QEMU %s: migrating there is "
                                            "backward migration, best effort",
                                            p->name, p->qemu_version,
                                            local->name, local->qemu_version));
    }
}

/*
 * Named model generations, oldest first, for -cpu auto: QEMU has no
 * "newest" field, so the rule is this table (by microarchitecture, big
 * cores above Atom-class ones of any date, which lack AVX), then the
 * higher -vN.  Unknown names rank lowest.
 */
static const char *const generations[] = {
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "qemu32",
    "kvm32",
    "coreduo",
    "n270",
    "athlon",
    "phenom",
    "qemu64",
    "kvm64",
    "core2duo",
    "Conroe",
    "Penryn",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Nehalem",
    "Westmere",
    "Denverton",
    "Snowridge",
    "Opteron_G4",
    "Opteron_G5",
    "SandyBridge",
    "IvyBridge",
    "Haswell",
    "Broadwell",
    "Skylake-Client",
    "Skylake-Server",
    "Cascadelake-Server",
    "Icelake-Client",
    "Icelake-Server",
    "Cooperlake",
    "SapphireRapids",
    "GraniteRapids",
    "SierraForest",
    "ClearwaterForest",
    "Dhyana",
    "EPYC",
    "EPYC-Rome",
    "EPYC-Milan",
    "EPYC-Genoa",
    "EPYC-Turin",
};

/**
 * model_rank() - a model's place for -cpu auto
 * @name:    versioned model name, e.g. "Skylake-Server-v4"
 * @version: where to store N of -vN (0 when unversioned)
 *
 * Return: generation index + 1, or 0 when unknown
 */
static int model_rank(const char *name, int *version)
{
    const char *v = strrchr(name, '-');
    g_autofree char *base = NULL;

    *version = 0;
    if (v != NULL && v[1] == 'v' && g_ascii_isdigit(v[2])) {
        *version = atoi(v + 2);
        base = g_strndup(name, v - name);
    } else {
        base = g_strdup(name);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(generations); i++) {
        if (strcmp(base, generations[i]) == 0)
            return (int)i + 1;
    }
    return 0;
}

/**
 * listed_everywhere() - does every host's QEMU list this model name?
 * @hosts: every host
 * @name:  model name
 *
 * Return: TRUE if so
 */
static gboolean listed_everywhere(GPtrArray *hosts, const char *name)
{
    for (guint i = 0; i < hosts->len; i++) {
        if (qm_profile_find_model(g_ptr_array_index(hosts, i), name) == NULL)
            return FALSE;
    }
    return TRUE;
}

/**
 * pick_auto() - the best named model every host can run
 * @hosts:      every host
 * @candidates: filled with one line per model considered
 * @error:      set when none is runnable everywhere
 *
 * An alias is left out when the versioned model it names is listed by
 * every host (that one is the candidate), but not otherwise: a QEMU older
 * than 4.1 lists only the unversioned names, which a newer QEMU reports as
 * aliases, and every host must see the same candidates to pick the same
 * model.  Ties go to the smaller name, for the same reason.
 *
 * Return: newly allocated model name, or NULL
 */
static char *pick_auto(GPtrArray *hosts, GPtrArray *candidates, GError **error)
{
    const QmProfile *local = g_ptr_array_index(hosts, 0);
    const QmCpuModel *best = NULL;
    int best_rank = -1, best_version = -1;
    guint rejected = 0;

    for (guint i = 0; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);

        if (h->cpu_models == NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_QEMU,
                        "-cpu auto: %s's QEMU did not report its CPU models",
                        h->name);
            return NULL;
        }
    }
    for (guint m = 0; m < local->cpu_models->len; m++) {
        const QmCpuModel *model = g_ptr_array_index(local->cpu_models, m);
        const char *lacking = NULL;
        int rank, version;

        if ((model->alias_of != NULL &&
             listed_everywhere(hosts, model->alias_of)) ||
            strcmp(model->name, "host") == 0 ||
            strcmp(model->name, "max") == 0 || strcmp(model->name, "base") == 0)
            continue;
        for (guint i = 0; i < hosts->len && lacking == NULL; i++) {
            const QmProfile *h = g_ptr_array_index(hosts, i);
            const QmCpuModel *def = qm_profile_find_model(h, model->name);

            if (def == NULL || def->unavailable->len > 0 ||
                def->unnamed_unavailable)
                lacking = h->name;
        }
        if (lacking != NULL) {
            rejected++;
            continue;
        }
        rank = model_rank(model->name, &version);
        g_ptr_array_add(candidates,
                        g_strdup_printf("%s: runnable on every host, "
                                        "generation %d, version %d",
                                        model->name, rank, version));
        if (rank > best_rank ||
            (rank == best_rank && (version > best_version ||
                                   (version == best_version &&
                                    strcmp(model->name, best->name) < 0)))) {
            best = model;
            best_rank = rank;
            best_version = version;
        }
    }
    if (best == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                    "-cpu auto: no named CPU model is runnable on every host");
        return NULL;
    }
    g_ptr_array_add(candidates,
                    g_strdup_printf("%u other models are not runnable on "
                                    "every host",
                                    rejected));
    g_ptr_array_add(candidates,
                    g_strdup_printf("winner: %s (newest generation runnable "
                                    "everywhere, then highest version)",
                                    best->name));
    return g_strdup(best->name);
}

/**
 * add_common_features() - -cpu auto: turn on what every host shares
 * @spec:     parsed -cpu value
 * @hosts:    every host
 * @extra:    suffix being built
 * @settings: reasons
 *
 * Written as feat=on for every feature in every host's (migratable) host
 * model - those the model already has are harmless repeats, and spelling
 * them out keeps the rule independent of each QEMU version's model
 * definitions.  Then enforce: QEMU refuses to start rather than filter.
 */
static void add_common_features(const QmCpuSpec *spec, GPtrArray *hosts,
                                GString *extra, GPtrArray *settings)
{
    const QmProfile *local = g_ptr_array_index(hosts, 0);
    g_autoptr(GPtrArray) names = qm_featset_sorted(local->features);
    guint added = 0;

    for (guint f = 0; f < names->len; f++) {
        const char *name = g_ptr_array_index(names, f);
        gboolean everywhere = TRUE;

        for (guint i = 1; i < hosts->len && everywhere; i++)
            everywhere = qm_featset_has(
                ((const QmProfile *)g_ptr_array_index(hosts, i))->features,
                name);
        if (!everywhere || user_sets(spec, name))
            continue;
        g_string_append_printf(extra, ",%s=on", name);
        added++;
    }
    g_ptr_array_add(settings,
                    g_strdup_printf("%u features on: every host's KVM host "
                                    "model has them",
                                    added));
    if (!user_sets(spec, "enforce") && !user_sets(spec, "check"))
        add_setting(extra, settings, "enforce", "on",
                    "QEMU must refuse to start rather than drop a feature");
}

/**
 * build_value() - the new -cpu value
 * @base:   the user's value (or the auto winner plus the user's items),
 *          kept byte for byte as the prefix
 * @spec:   parsed user value
 * @hidden: sorted QmHidden array
 * @extra:  further ",key=value" items
 *
 * Return: newly allocated value, or NULL when nothing needs appending
 */
static char *build_value(const char *base, const QmCpuSpec *spec,
                         GPtrArray *hidden, const GString *extra)
{
    g_autoptr(GString) value = g_string_new(base);
    gboolean changed = extra->len > 0;

    for (guint i = 0; i < hidden->len; i++) {
        const QmHidden *entry = g_ptr_array_index(hidden, i);
        const char *user = g_hash_table_lookup(spec->settings, entry->name);

        /* the user's own "off" already does it; no duplicates */
        if (g_strcmp0(user, "off") == 0)
            continue;
        g_string_append_printf(value, ",%s=off", entry->name);
        changed = TRUE;
    }
    g_string_append(value, extra->str);
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
    g_autoptr(GString) extra = g_string_new(NULL);
    g_autofree char *base = NULL;
    const char *value = cpu_value ? cpu_value : DEFAULT_MODEL;
    gboolean host_mode;

    out->hidden = g_ptr_array_new_with_free_func((GDestroyNotify)hidden_free);
    out->warnings = g_ptr_array_new_with_free_func(g_free);
    out->settings = g_ptr_array_new_with_free_func(g_free);
    out->candidates = g_ptr_array_new_with_free_func(g_free);

    if (!check_vendors(hosts, flags, out->warnings, error))
        return FALSE;
    if (!qm_cpuspec_parse(value, &spec, error))
        return FALSE;
    warn_versions(local, peers, out->warnings);
    host_mode =
        strcmp(spec->model, "host") == 0 || strcmp(spec->model, "max") == 0;
    base = g_strdup(value);

    if (host_mode) {
        out->mode = g_strdup(spec->model);
        if (strcmp(spec->model, "max") == 0)
            g_ptr_array_add(out->warnings,
                            g_strdup("-cpu max is treated like -cpu host: "
                                     "under KVM both start from the host "
                                     "model"));
        hide_host_mode(local, hosts, out->hidden, index);
    } else if (strcmp(spec->model, "auto") == 0) {
        g_autofree char *winner = pick_auto(hosts, out->candidates, error);

        if (winner == NULL)
            return FALSE;
        out->mode = g_strdup("auto");
        /* "auto" is qemu-mig's word: QEMU gets the winner in its place */
        g_free(base);
        base = g_strconcat(winner, value + strlen("auto"), NULL);
        g_free(spec->model);
        spec->model = g_steal_pointer(&winner);
        add_common_features(spec, hosts, extra, out->settings);
    } else {
        out->mode = g_strdup(cpu_value ? "named" : "default");
        if (!hide_named_mode(spec->model, hosts, out->hidden, index,
                             out->warnings, error))
            return FALSE;
    }
    out->model = g_strdup(spec->model);
    if (!check_requested(spec, hosts, error) ||
        !check_migratable(spec, hosts, error))
        return FALSE;

    if (host_mode && peers->len > 0) {
        set_identity(spec, hosts, extra, out->settings);
        set_pmu(spec, hosts, extra, out->settings);
    }
    if (peers->len > 0)
        set_phys_bits(spec, hosts, host_mode, extra, out->settings,
                      out->warnings);
    if (!set_tsc(spec, hosts, extra, out->settings, error))
        return FALSE;

    g_ptr_array_sort(out->hidden, cmp_hidden);
    out->cpu_value = build_value(base, spec, out->hidden, extra);
    if (out->cpu_value == NULL && strcmp(base, value) != 0)
        out->cpu_value = g_strdup(base);
    out->add_cpu = cpu_value == NULL && out->cpu_value != NULL;
    *decision = g_steal_pointer(&out);
    return TRUE;
}

/**
 * qm_decide_machine() - add the machine type to a decision
 * @decision:      decision from qm_decide()
 * @machine_value: the effective -machine value, or NULL
 * @local:         local profile
 * @peers:         peer profiles
 * @error:         set when no machine type suits every host
 *
 * Return: TRUE on success
 */
gboolean qm_decide_machine(QmDecision *decision, const char *machine_value,
                           const QmProfile *local, GPtrArray *peers,
                           GError **error)
{
    return qm_machine_decide(machine_value, local, peers,
                             &decision->machine_value, decision->warnings,
                             error);
}
