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
#include "pin.h"

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
    g_ptr_array_unref(decision->absent);
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
    GHashTableIter iter;
    gpointer name;

    g_hash_table_iter_init(&iter, local->known);
    while (g_hash_table_iter_next(&iter, &name, NULL)) {
        guint have = 0;

        for (guint i = 0; i < hosts->len; i++)
            have += qm_featset_has(
                ((const QmProfile *)g_ptr_array_index(hosts, i))->features,
                name);
        if (have == 0 || have == hosts->len)
            continue;
        /* hosts in their order, so the lacking lists are deterministic */
        for (guint i = 0; i < hosts->len; i++) {
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
 * higher -vN.  Each model's CPUID vendor, so that a guest is never told
 * it runs on another vendor's CPU (QEMU's models hard-code theirs; under
 * KVM the host's replaces it, leaving e.g. an "AMD Pentium III"); NULL
 * for QEMU's generic models, which are written with the hosts' vendor.
 * A name missing here is never a candidate: its vendor is unknown.
 */
#define INTEL "GenuineIntel"
#define AMD   "AuthenticAMD"
#define HYGON "HygonGenuine"
static const struct {
    const char *name;
    const char *vendor;
} generations[] = {
    {"486", INTEL},
    {"pentium", INTEL},
    {"pentium2", INTEL},
    {"pentium3", INTEL},
    {"qemu32", NULL},
    {"kvm32", NULL},
    {"coreduo", INTEL},
    {"n270", INTEL},
    {"athlon", AMD},
    {"phenom", AMD},
    {"qemu64", NULL},
    {"kvm64", NULL},
    {"core2duo", INTEL},
    {"Conroe", INTEL},
    {"Penryn", INTEL},
    {"Opteron_G1", AMD},
    {"Opteron_G2", AMD},
    {"Opteron_G3", AMD},
    {"Nehalem", INTEL},
    {"Westmere", INTEL},
    {"Denverton", INTEL},
    {"Snowridge", INTEL},
    {"Opteron_G4", AMD},
    {"Opteron_G5", AMD},
    {"SandyBridge", INTEL},
    {"IvyBridge", INTEL},
    {"Haswell", INTEL},
    {"Broadwell", INTEL},
    {"Skylake-Client", INTEL},
    {"Skylake-Server", INTEL},
    {"Cascadelake-Server", INTEL},
    {"Icelake-Client", INTEL},
    {"Icelake-Server", INTEL},
    {"Cooperlake", INTEL},
    {"SapphireRapids", INTEL},
    {"GraniteRapids", INTEL},
    {"SierraForest", INTEL},
    {"ClearwaterForest", INTEL},
    {"Dhyana", HYGON},
    {"EPYC", AMD},
    {"EPYC-Rome", AMD},
    {"EPYC-Milan", AMD},
    {"EPYC-Genoa", AMD},
    {"EPYC-Turin", AMD},
};

/**
 * model_rank() - a model's place for -cpu auto
 * @name:    versioned model name, e.g. "Skylake-Server-v4"
 * @version: where to store N of -vN (0 when unversioned)
 * @vendor:  where to store the model's vendor (NULL: generic)
 *
 * Return: generation index + 1, or 0 when unknown
 */
static int model_rank(const char *name, int *version, const char **vendor)
{
    const char *v = strrchr(name, '-');
    g_autofree char *base = NULL;

    *version = 0;
    *vendor = NULL;
    if (v != NULL && v[1] == 'v' && g_ascii_isdigit(v[2])) {
        *version = atoi(v + 2);
        base = g_strndup(name, v - name);
    } else {
        base = g_strdup(name);
    }
    /* the longest generation the name starts with: older QEMUs name
     * variants such as Skylake-Client-IBRS or Cascadelake-Server-noTSX,
     * which newer ones keep as aliases of a version */
    {
        gsize best_len = 0;
        int found = 0;

        for (gsize i = 0; i < G_N_ELEMENTS(generations); i++) {
            gsize n = strlen(generations[i].name);

            if (n > best_len && strncmp(base, generations[i].name, n) == 0 &&
                (base[n] == '\0' || base[n] == '-')) {
                best_len = n;
                found = (int)i + 1;
                *vendor = generations[i].vendor;
            }
        }
        return found;
    }
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
 * Candidate - a model -cpu auto may pick
 * @model:   its local definition
 * @rank:    generation + 1 (model_rank())
 * @version: N of -vN
 * @generic: one of QEMU's generic models (told the hosts' vendor)
 * @runnable: every host can give all of its features
 * @added:   features the guest gets that the model lacks
 * @removed: features the model has that the guest does not get
 * @score:   libvirt's measure of the distance: @added, plus 2, 3, 4, ...
 *           for each removed feature in turn
 */
typedef struct {
    const QmCpuModel *model;
    int rank;
    int version;
    gboolean generic;
    gboolean runnable;
    guint added;
    guint removed;
    guint score;
} Candidate;

/**
 * common_set() - features every host has, among those every host's QEMU
 *                knows
 * @hosts: every host
 * @known: where to store the names every host's QEMU knows
 *
 * Counting only names every QEMU knows keeps the ranking the same from
 * every side: a feature only a newer QEMU names cannot tip it.
 *
 * Return: new set
 */
static QmFeatureSet *common_set(GPtrArray *hosts, QmFeatureSet **known)
{
    const QmProfile *local = g_ptr_array_index(hosts, 0);
    QmFeatureSet *on = qm_featset_new();
    GHashTableIter iter;
    gpointer name;

    *known = qm_featset_new();
    g_hash_table_iter_init(&iter, local->known);
    while (g_hash_table_iter_next(&iter, &name, NULL)) {
        gboolean everywhere = TRUE, named = TRUE;

        for (guint i = 0; i < hosts->len; i++) {
            const QmProfile *h = g_ptr_array_index(hosts, i);

            named &= qm_featset_has(h->known, name);
            everywhere &= qm_featset_has(h->features, name);
        }
        if (named)
            qm_featset_add(*known, name);
        if (named && everywhere)
            qm_featset_add(on, name);
    }
    return on;
}

/**
 * measure() - how far a model is from the guest's features
 * @c:     candidate, its @added, @removed and @score set
 * @on:    the features every host gives
 * @known: the names every host's QEMU knows
 */
static void measure(Candidate *c, QmFeatureSet *on, QmFeatureSet *known)
{
    GHashTableIter iter;
    gpointer name;

    c->added = c->removed = 0;
    g_hash_table_iter_init(&iter, on);
    while (g_hash_table_iter_next(&iter, &name, NULL))
        c->added += !qm_featset_has(c->model->features, name);
    g_hash_table_iter_init(&iter, c->model->features);
    while (g_hash_table_iter_next(&iter, &name, NULL))
        c->removed += qm_featset_has(known, name) && !qm_featset_has(on, name);
    /* each removed feature costs more than the one before (libvirt's
     * virCPUx86CompareCandidateFeatureList()) */
    c->score = c->added + 2 * c->removed + c->removed * (c->removed - 1) / 2;
}

/**
 * newer() - is candidate @a newer than @b?
 * @a: candidate
 * @b: candidate
 *
 * Return: TRUE for a later generation, or a higher version of the same,
 * or (for one answer from every host) the smaller name
 */
static gboolean newer(const Candidate *a, const Candidate *b)
{
    if (a->rank != b->rank)
        return a->rank > b->rank;
    if (a->version != b->version)
        return a->version > b->version;
    return strcmp(a->model->name, b->model->name) < 0;
}

/**
 * closer() - is candidate @a a better -cpu auto than @b, by distance?
 * @a: candidate
 * @b: candidate
 *
 * As libvirt's host-model: the smaller score, then fewer removed
 * features, then the newer model.
 *
 * Return: TRUE if so
 */
static gboolean closer(const Candidate *a, const Candidate *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    if (a->removed != b->removed)
        return a->removed < b->removed;
    return newer(a, b);
}

/**
 * pick_auto() - the named model closest to what every host gives
 * @hosts:      every host
 * @vendor:     the guest's CPU vendor
 * @candidates: filled with one line per model considered
 * @generic:    set when the winner is one of QEMU's generic models, which
 *              must be told the vendor
 * @error:      set when there is no candidate
 *
 * Candidates are the models of @vendor (or generic ones) that every
 * host's QEMU lists.  An alias is left out when the versioned model it
 * names is listed by every host (that one is the candidate), but not
 * otherwise: a QEMU older than 4.1 lists only the unversioned names.
 *
 * When the local QEMU said what each model has (the catalogue run), the
 * winner is the closest, as libvirt picks a host-model: fewest features
 * to add, and to remove at a rising cost, then the newest; a feature some
 * host lacks is then turned off, and every feature is written anyway.
 * Without the catalogue (a profile from an older qemu-mig), the newest
 * model every host can run wins.
 *
 * Return: newly allocated model name, or NULL
 */
static char *pick_auto(GPtrArray *hosts, const char *vendor,
                       GPtrArray *candidates, gboolean *generic, GError **error)
{
    const QmProfile *local = g_ptr_array_index(hosts, 0);
    g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(Candidate));
    g_autoptr(GHashTable) on = NULL;
    g_autoptr(GHashTable) known = NULL;
    const Candidate *best = NULL;
    gboolean by_distance;
    guint foreign = 0, unrunnable = 0, with_features = 0;

    *generic = FALSE;
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
        const char *model_vendor;
        Candidate c = {.model = model, .runnable = TRUE};
        gboolean everywhere = TRUE;

        if ((model->alias_of != NULL &&
             listed_everywhere(hosts, model->alias_of)) ||
            strcmp(model->name, "host") == 0 ||
            strcmp(model->name, "max") == 0 || strcmp(model->name, "base") == 0)
            continue;
        c.rank = model_rank(model->name, &c.version, &model_vendor);
        if (c.rank == 0 ||
            (model_vendor != NULL && g_strcmp0(model_vendor, vendor) != 0)) {
            foreign++;
            continue;
        }
        c.generic = model_vendor == NULL;
        for (guint i = 0; i < hosts->len && everywhere; i++) {
            const QmCpuModel *def =
                qm_profile_find_model(g_ptr_array_index(hosts, i), model->name);

            /* a bit QEMU cannot name cannot be turned off */
            everywhere = def != NULL && !def->unnamed_unavailable;
            c.runnable &= def != NULL && def->unavailable->len == 0;
        }
        if (!everywhere)
            continue;
        with_features += model->features != NULL;
        unrunnable += !c.runnable;
        g_array_append_val(all, c);
    }
    /* the local QEMU named every model's features in its catalogue run;
     * one whose expansion failed there cannot be measured */
    by_distance = with_features > 0;
    if (by_distance)
        on = common_set(hosts, &known);
    for (guint i = 0; i < all->len; i++) {
        Candidate *c = &g_array_index(all, Candidate, i);

        if (by_distance && c->model->features == NULL) {
            g_ptr_array_add(candidates,
                            g_strdup_printf("%s: the local QEMU did not say "
                                            "what it has",
                                            c->model->name));
        } else if (by_distance) {
            measure(c, on, known);
            g_ptr_array_add(candidates,
                            g_strdup_printf("%s: %u features to add, %u to "
                                            "remove (score %u), generation "
                                            "%d, version %d",
                                            c->model->name, c->added,
                                            c->removed, c->score, c->rank,
                                            c->version));
            if (best == NULL || closer(c, best))
                best = c;
        } else if (c->runnable) {
            g_ptr_array_add(candidates,
                            g_strdup_printf("%s: runnable on every host, "
                                            "generation %d, version %d",
                                            c->model->name, c->rank,
                                            c->version));
            if (best == NULL || newer(c, best))
                best = c;
        }
    }
    if (best == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                    "-cpu auto: no named CPU model of vendor %s (or generic) "
                    "is %s every host",
                    vendor, all->len > 0 ? "runnable on" : "listed by");
        return NULL;
    }
    *generic = best->generic;
    if (by_distance) {
        g_ptr_array_add(candidates,
                        g_strdup_printf("%u models of another or unknown "
                                        "vendor",
                                        foreign));
        g_ptr_array_add(candidates,
                        g_strdup_printf("winner: %s (closest to what every "
                                        "host gives: %u features added, %u "
                                        "removed; then fewest removed, then "
                                        "newest)",
                                        best->model->name, best->added,
                                        best->removed));
    } else {
        g_ptr_array_add(candidates,
                        g_strdup_printf("%u other models of vendor %s (or "
                                        "generic) are not runnable on every "
                                        "host; %u are of another or unknown "
                                        "vendor (the local QEMU's model "
                                        "catalogue is unknown: ranked by "
                                        "generation)",
                                        unrunnable, vendor, foreign));
        g_ptr_array_add(candidates,
                        g_strdup_printf("winner: %s (newest generation "
                                        "runnable everywhere, then highest "
                                        "version)",
                                        best->model->name));
    }
    return g_strdup(best->model->name);
}

/**
 * user_off() - did the user turn this feature off?
 * @spec: parsed -cpu value
 * @name: canonical feature name
 *
 * Return: TRUE for "name=off", "-name" and the like
 */
static gboolean user_off(const QmCpuSpec *spec, const char *name)
{
    return g_strcmp0(g_hash_table_lookup(spec->settings, name), "off") == 0;
}

/**
 * guest_features() - every CPUID feature the guest gets, -cpu host / auto
 * @spec:   parsed -cpu value
 * @hosts:  every host, the one whose command this is first
 * @names:  the features the local QEMU knows, sorted
 * @hidden: QmHidden entries so far; a feature whose parent is off is
 *          added with its parent
 * @index:  name -> QmHidden
 * @error:  set when the user turns on a feature whose parent is off
 *
 * What every host's host model has, that the QEMU this command is for can
 * name, minus what the user turns off, plus what the user turns on (checked
 * elsewhere to be everywhere), minus what QEMU's own dependency table would
 * turn off: a child written "=on" under enforce without its parent makes
 * QEMU refuse to start ("depends on other features that were not
 * requested"), and without enforce QEMU drops it anyway.
 *
 * Return: new set, or NULL on error
 */
static QmFeatureSet *guest_features(const QmCpuSpec *spec, GPtrArray *hosts,
                                    GPtrArray *names, GPtrArray *hidden,
                                    GHashTable *index, GError **error)
{
    const QmProfile *local = g_ptr_array_index(hosts, 0);
    g_autoptr(GHashTable) on = qm_featset_new();
    g_autoptr(GHashTable) orphans =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GList) dropped = NULL;

    for (guint f = 0; f < names->len; f++) {
        const char *name = g_ptr_array_index(names, f);
        const char *user = g_hash_table_lookup(spec->settings, name);
        gboolean everywhere = TRUE;

        for (guint i = 0; i < hosts->len && everywhere; i++)
            everywhere = qm_featset_has(
                ((const QmProfile *)g_ptr_array_index(hosts, i))->features,
                name);
        if ((everywhere && g_strcmp0(user, "off") != 0) ||
            g_strcmp0(user, "on") == 0)
            qm_featset_add(on, name);
    }
    qm_feature_drop_orphans(on, local->known, orphans);
    /* kvm=off hides KVM from the guest, and QEMU its PV features with it */
    if (g_strcmp0(g_hash_table_lookup(spec->settings, "kvm"), "off") == 0) {
        for (guint f = 0; f < names->len; f++) {
            const char *name = g_ptr_array_index(names, f);

            if (qm_feature_is_kvm_pv(name) && g_hash_table_remove(on, name))
                g_hash_table_replace(orphans, g_strdup(name), (gpointer) "kvm");
        }
    }
    dropped = g_list_sort(g_hash_table_get_keys(orphans), (GCompareFunc)strcmp);
    for (GList *l = dropped; l != NULL; l = l->next) {
        const char *name = l->data;
        const char *parent = g_hash_table_lookup(orphans, name);
        QmHidden *entry;

        if (g_strcmp0(g_hash_table_lookup(spec->settings, name), "on") == 0) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "-cpu %s: feature %s is requested on, but it needs "
                        "%s, which is off (QEMU would drop it, or refuse to "
                        "start)",
                        spec->model, name, parent);
            return NULL;
        }
        if (g_hash_table_contains(index, name))
            continue;
        entry = g_new0(QmHidden, 1);
        entry->name = g_strdup(name);
        entry->lacking = g_ptr_array_new_with_free_func(g_free);
        entry->parent = parent;
        g_ptr_array_add(hidden, entry);
        g_hash_table_insert(index, entry->name, entry);
    }
    return g_steal_pointer(&on);
}

/**
 * check_user_parents() - a named model: no child on with its parent off
 * @spec:  parsed -cpu value
 * @local: the profile of the host whose command this is
 * @index: hidden features, name -> QmHidden
 * @error: set naming the feature and its parent
 *
 * With a named model qemu-mig does not know every feature the model has,
 * but a parent the user or qemu-mig turns off is surely off.
 *
 * Return: TRUE when no requested feature lacks its parent
 */
static gboolean check_user_parents(const QmCpuSpec *spec,
                                   const QmProfile *local, GHashTable *index,
                                   GError **error)
{
    g_autoptr(GHashTable) on = qm_featset_new();
    g_autoptr(GPtrArray) names = qm_featset_sorted(local->known);
    g_autoptr(GList) keys = g_hash_table_get_keys(spec->settings);

    /* everything not known to be off counts as on */
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);

        if (!user_off(spec, name) && !g_hash_table_contains(index, name))
            qm_featset_add(on, name);
    }
    keys = g_list_sort(keys, (GCompareFunc)strcmp);
    for (GList *l = keys; l != NULL; l = l->next) {
        const char *parent;

        if (g_strcmp0(g_hash_table_lookup(spec->settings, l->data), "on") != 0)
            continue;
        parent = qm_feature_parent_off(on, local->known, l->data);
        if (parent != NULL) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "-cpu %s: feature %s is requested on, but it needs "
                        "%s, which is off (QEMU would drop it, or refuse to "
                        "start)",
                        spec->model, (char *)l->data, parent);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * list_on() - write every feature the guest gets as "=on"
 * @spec:  parsed -cpu value
 * @on:    the guest's features
 * @extra: suffix being built
 *
 * Spelled out so that QEMU, with enforce, refuses to start on a host that
 * lost one since it was probed (microcode, kernel, BIOS) rather than start
 * a different CPU; for -cpu auto it also keeps the guest independent of
 * each QEMU version's model definitions.  A feature the user wrote stands
 * as written.
 *
 * Return: how many were written
 */
static guint list_on(const QmCpuSpec *spec, const QmFeatureSet *on,
                     GString *extra)
{
    g_autoptr(GPtrArray) names = qm_featset_sorted(on);
    guint added = 0;

    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);

        if (qm_pin_user_sets(spec, name))
            continue;
        g_string_append_printf(extra, ",%s=on", name);
        added++;
    }
    return added;
}

/**
 * list_off() - -cpu host: write every other feature QEMU knows as "=off"
 * @spec:   parsed -cpu value
 * @names:  the features the local QEMU knows, sorted
 * @on:     the guest's features
 * @index:  name -> QmHidden (those are listed as hidden, not as absent)
 * @absent: filled with the names no host has, for explain
 * @extra:  suffix being built
 *
 * -cpu host gives a guest everything the host's KVM has, so a host that
 * gains a feature after the probe (a new kernel) would give it to the
 * guest too: every feature the QEMU knows and the guest does not get is
 * written off, whether some host has it (hidden) or none (absent).
 */
static void list_off(const QmCpuSpec *spec, GPtrArray *names,
                     const QmFeatureSet *on, GHashTable *index,
                     GPtrArray *absent, GString *extra)
{

    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);

        if (qm_featset_has(on, name) || user_off(spec, name))
            continue;
        if (!g_hash_table_contains(index, name))
            g_ptr_array_add(absent, g_strdup(name));
        g_string_append_printf(extra, ",%s=off", name);
    }
}

/**
 * list_hidden() - a named model: write the hidden features as "=off"
 * @spec:     parsed -cpu value
 * @local:    profile of the QEMU the command is for
 * @hidden:   sorted QmHidden array
 * @extra:    suffix being built
 * @settings: reasons
 *
 * A newer peer QEMU can name a feature the local one has never heard of
 * (avx10 under 7.2): the local model cannot have it, and QEMU refuses a
 * property it does not know, so only names the local QEMU lists are
 * written.
 */
static void list_hidden(const QmCpuSpec *spec, const QmProfile *local,
                        GPtrArray *hidden, GString *extra, GPtrArray *settings)
{
    gboolean known = g_hash_table_size(local->known) > 0;

    for (guint i = 0; i < hidden->len; i++) {
        const QmHidden *entry = g_ptr_array_index(hidden, i);

        /* the user's own "off" already does it; no duplicates */
        if (user_off(spec, entry->name))
            continue;
        if (known && !qm_featset_has(local->known, entry->name)) {
            g_ptr_array_add(settings,
                            g_strdup_printf("%s not written: %s's QEMU does "
                                            "not know it, so its model "
                                            "cannot have it",
                                            entry->name, local->name));
            continue;
        }
        g_string_append_printf(extra, ",%s=off", entry->name);
    }
}

/**
 * resolve_version() - write a model alias as the versioned model it is
 * @spec:     parsed -cpu value; its model becomes the versioned name
 * @hosts:    every host, local first
 * @base:     the value written so far, its model name replaced
 * @settings: reasons
 *
 * An unversioned name such as Skylake-Client is an alias that the guest's
 * machine type resolves: pc and q35 types since 4.1 to -v1, microvm in
 * QEMU 9.2 and older to the latest version, and machine types before 4.1
 * to a type of its own that their compat properties change (pc-i440fx-3.1
 * turns mpx on for Skylake-Client).  The probe resolves it as q35 does;
 * written as that version, the guest gets the very model every host was
 * checked for, whatever its machine type: compat properties name the
 * alias's type, never a versioned one.
 */
static void resolve_version(QmCpuSpec *spec, GPtrArray *hosts, char **base,
                            GPtrArray *settings)
{
    const QmCpuModel *def =
        qm_profile_find_model(g_ptr_array_index(hosts, 0), spec->model);
    const char *rest;

    if (def == NULL || def->alias_of == NULL)
        return;
    /* every host must compute the same command: a QEMU older than 4.1
     * has no versions, and then the name stays as written */
    for (guint i = 1; i < hosts->len; i++) {
        const QmCpuModel *other =
            qm_profile_find_model(g_ptr_array_index(hosts, i), spec->model);

        if (other == NULL || g_strcmp0(other->alias_of, def->alias_of) != 0)
            return;
    }
    rest = strchr(*base, ',');
    g_ptr_array_add(settings,
                    g_strdup_printf("%s written as %s, the model it names on "
                                    "q35: the guest's machine type cannot "
                                    "change it",
                                    spec->model, def->alias_of));
    g_free(spec->model);
    spec->model = g_strdup(def->alias_of);
    {
        char *resolved = g_strconcat(def->alias_of, rest ? rest : "", NULL);

        g_free(*base);
        *base = resolved;
    }
}

/**
 * add_enforce() - make QEMU check what qemu-mig decided
 * @spec:     parsed -cpu value
 * @extra:    suffix being built
 * @settings: reasons
 * @warnings: warnings
 *
 * With enforce, QEMU refuses to start rather than leave out a feature
 * written "=on" that the host cannot give.  The user's enforce or check
 * stands; enforce=off gets a warning.
 */
static void add_enforce(const QmCpuSpec *spec, GString *extra,
                        GPtrArray *settings, GPtrArray *warnings)
{
    const char *enforce = g_hash_table_lookup(spec->settings, "enforce");

    if (g_strcmp0(enforce, "off") == 0)
        g_ptr_array_add(warnings,
                        g_strdup("-cpu ...,enforce=off: QEMU will start the "
                                 "guest with a different CPU on a host that "
                                 "lost a feature since it was probed"));
    if (enforce == NULL && !qm_pin_user_sets(spec, "check"))
        qm_pin_add(extra, settings, "enforce", "on",
                   "QEMU must refuse to start rather than drop a feature");
}

/**
 * qm_decide() - what to change on the command line so every host can run
 *               the guest
 * @cpu_value: the effective -cpu value, or NULL when there is none
 * @machine_value: the effective -machine value, or NULL: without -cpu,
 *             its type's default model (query-machines' default-cpu-type,
 *             on the QEMU the command is for) is the guest's
 * @local:     local host profile
 * @peers:     QmProfile of every peer
 * @flags:     QM_DECIDE_* flags
 * @decision:  where to store the result
 * @error:     set when the hosts cannot give one guest CPU
 *
 * The new -cpu value is the user's value, byte for byte, then the
 * features turned on, then those turned off, each in name order, then
 * the pinned values (pin.c), then enforce=on.
 *
 * Return: TRUE on success
 */
gboolean qm_decide(const char *cpu_value, const char *machine_value,
                   const QmProfile *local, GPtrArray *peers, unsigned flags,
                   QmDecision **decision, GError **error)
{
    g_autoptr(QmDecision) out = g_new0(QmDecision, 1);
    g_autoptr(GPtrArray) hosts = all_hosts(local, peers);
    g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(QmCpuSpec) spec = NULL;
    g_autoptr(GHashTable) on = NULL;
    g_autoptr(GString) items = g_string_new(NULL);
    g_autoptr(GString) extra = g_string_new(NULL);
    g_autofree char *base = NULL;
    const char *value = cpu_value;
    gboolean host_mode, auto_mode, generic = FALSE;
    QmPin pin = {.hosts = hosts};

    if (value == NULL)
        value = qm_machine_default_cpu(machine_value, local);
    if (value == NULL)
        value = DEFAULT_MODEL; /* a profile from before default-cpu-type */
    out->hidden = g_ptr_array_new_with_free_func((GDestroyNotify)hidden_free);
    out->absent = g_ptr_array_new_with_free_func(g_free);
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
    auto_mode = strcmp(spec->model, "auto") == 0;
    base = g_strdup(value);
    pin.spec = spec;
    pin.mode = host_mode ? QM_PIN_HOST : QM_PIN_MODEL;
    if (!qm_pin_check(&pin, error))
        return FALSE;

    if (host_mode) {
        out->mode = g_strdup(spec->model);
        if (strcmp(spec->model, "max") == 0)
            g_ptr_array_add(out->warnings,
                            g_strdup("-cpu max is treated like -cpu host: "
                                     "under KVM both start from the host "
                                     "model"));
        hide_host_mode(local, hosts, out->hidden, index);
    } else if (auto_mode) {
        const char *vendor = qm_pin_guest_vendor(hosts);
        g_autofree char *winner =
            pick_auto(hosts, vendor, out->candidates, &generic, error);

        if (winner == NULL)
            return FALSE;
        out->mode = g_strdup("auto");
        /* the closest model need not be runnable everywhere: what a host
         * lacks is turned off, as for a named model */
        if (!hide_named_mode(winner, hosts, out->hidden, index, out->warnings,
                             error))
            return FALSE;
        /* "auto" is qemu-mig's word: QEMU gets the winner in its place */
        g_free(base);
        base = g_strconcat(winner, value + strlen("auto"), NULL);
        g_free(spec->model);
        spec->model = g_steal_pointer(&winner);
    } else {
        out->mode = g_strdup(cpu_value ? "named" : "default");
        if (peers->len > 0)
            resolve_version(spec, hosts, &base, out->settings);
        if (!hide_named_mode(spec->model, hosts, out->hidden, index,
                             out->warnings, error))
            return FALSE;
    }
    out->model = g_strdup(spec->model);
    if (!check_requested(spec, hosts, error) ||
        !check_migratable(spec, hosts, error))
        return FALSE;

    /* -cpu host with peers, and -cpu auto: every feature spelled out */
    if (auto_mode || (host_mode && peers->len > 0)) {
        g_autoptr(GPtrArray) names = qm_featset_sorted(local->known);
        guint n;

        on = guest_features(spec, hosts, names, out->hidden, index, error);
        if (on == NULL)
            return FALSE;
        g_ptr_array_sort(out->hidden, cmp_hidden);
        n = list_on(spec, on, items);
        g_ptr_array_add(out->settings,
                        g_strdup_printf("%u features on: every host's KVM "
                                        "host model has them",
                                        n));
        if (host_mode)
            list_off(spec, names, on, index, out->absent, items);
        else
            list_hidden(spec, local, out->hidden, items, out->settings);
        if (out->absent->len > 0)
            g_ptr_array_add(out->settings,
                            g_strdup_printf("%u features off: no host has "
                                            "them (a host that gains one "
                                            "must not give it to the guest)",
                                            out->absent->len));
    } else {
        if (!check_user_parents(spec, local, index, error))
            return FALSE;
        g_ptr_array_sort(out->hidden, cmp_hidden);
        list_hidden(spec, local, out->hidden, items, out->settings);
    }

    pin.on = on;
    pin.generic = generic;
    if (!qm_pin_values(&pin, extra, out->settings, out->warnings, error))
        return FALSE;
    if (auto_mode || peers->len > 0)
        add_enforce(spec, extra, out->settings, out->warnings);

    g_string_append(items, extra->str);
    if (items->len > 0 || strcmp(base, value) != 0)
        out->cpu_value = g_strconcat(base, items->str, NULL);
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
