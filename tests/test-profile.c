/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: feature sets and the JSON form of a host profile.
 */
#include <string.h>

#include "testutil.h"
#include "wrapper/error.h"
#include "wrapper/feature.h"
#include "wrapper/profile.h"
#include "wrapper/qmp.h"

/**
 * load_capture() - a full profile from a capture plus every optional field
 * @file: layout A capture in tests/data
 *
 * Return: new profile with machines, version, brand and so on filled in
 */
static QmProfile *load_capture(const char *file)
{
    gsize len;
    g_autofree char *text = qm_test_read_data(file, &len);
    g_autofree char *mtext = qm_test_read_data("qemu-7.2-machines.json", NULL);
    g_autoptr(JsonNode) machines = json_from_string(mtext, NULL);
    g_autoptr(GPtrArray) docs = NULL;
    g_autoptr(GHashTable) replies = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GError) error = NULL;
    QmProfile *p = NULL;

    g_assert_nonnull(machines);
    g_assert_true(qm_qmp_split(text, len, &docs, &error));
    for (guint i = 0; i < docs->len; i++) {
        JsonObject *obj = json_node_get_object(g_ptr_array_index(docs, i));

        g_hash_table_insert(replies,
                            (gpointer)json_object_get_string_member(obj, "id"),
                            g_ptr_array_index(docs, i));
    }
    g_hash_table_insert(replies, "machines", machines);
    g_assert_true(
        qm_qmp_profile_from_replies("root@peer-b:2222", replies, &p, &error));
    g_assert_no_error(error);
    p->phys_bits = 46;
    p->qemu_version = g_strdup("7.2.11");
    p->qemu_package = g_strdup("Debian 1:7.2+dfsg-7+deb12u11");
    p->probe_method = g_strdup("ssh-qmp");
    p->probed_at = G_GINT64_CONSTANT(1700000000);
    p->cpu_brand = g_strdup("  Intel(R) \"Xeon\" \\ brand  ");
    return p;
}

/**
 * featset_equal() - two feature sets hold the same names
 * @a: set
 * @b: set
 */
static void featset_equal(const QmFeatureSet *a, const QmFeatureSet *b)
{
    g_autoptr(GPtrArray) sa = qm_featset_sorted(a);
    g_autoptr(GPtrArray) sb = qm_featset_sorted(b);

    g_assert_cmpuint(sa->len, ==, sb->len);
    for (guint i = 0; i < sa->len; i++)
        g_assert_cmpstr(g_ptr_array_index(sa, i), ==, g_ptr_array_index(sb, i));
}

/**
 * profile_equal() - every field of two profiles is equal
 * @a: profile
 * @b: profile
 */
static void profile_equal(const QmProfile *a, const QmProfile *b)
{
    g_assert_cmpstr(a->name, ==, b->name);
    g_assert_cmpstr(a->vendor, ==, b->vendor);
    g_assert_cmpint(a->family, ==, b->family);
    g_assert_cmpint(a->model, ==, b->model);
    g_assert_cmpint(a->stepping, ==, b->stepping);
    g_assert_cmpstr(a->model_id, ==, b->model_id);
    featset_equal(a->features, b->features);
    featset_equal(a->known, b->known);
    g_assert_cmpint(a->phys_bits, ==, b->phys_bits);
    g_assert_cmpstr(a->qemu_version, ==, b->qemu_version);
    g_assert_cmpstr(a->qemu_package, ==, b->qemu_package);
    g_assert_cmpint(a->kvm, ==, b->kvm);
    g_assert_cmpstr(a->probe_method, ==, b->probe_method);
    g_assert_cmpint(a->probed_at, ==, b->probed_at);
    g_assert_cmpstr(a->cpu_brand, ==, b->cpu_brand);

    g_assert_cmpint(a->cpu_models == NULL, ==, b->cpu_models == NULL);
    for (guint i = 0; a->cpu_models && i < a->cpu_models->len; i++) {
        const QmCpuModel *ma = g_ptr_array_index(a->cpu_models, i);
        const QmCpuModel *mb = g_ptr_array_index(b->cpu_models, i);

        g_assert_cmpuint(a->cpu_models->len, ==, b->cpu_models->len);
        g_assert_cmpstr(ma->name, ==, mb->name);
        g_assert_cmpstr(ma->alias_of, ==, mb->alias_of);
        g_assert_cmpint(ma->unnamed_unavailable, ==, mb->unnamed_unavailable);
        g_assert_cmpint(ma->migration_safe, ==, mb->migration_safe);
        g_assert_cmpint(ma->deprecated, ==, mb->deprecated);
        g_assert_cmpuint(ma->unavailable->len, ==, mb->unavailable->len);
        for (guint k = 0; k < ma->unavailable->len; k++)
            g_assert_cmpstr(g_ptr_array_index(ma->unavailable, k), ==,
                            g_ptr_array_index(mb->unavailable, k));
    }
    g_assert_cmpint(a->machines == NULL, ==, b->machines == NULL);
    for (guint i = 0; a->machines && i < a->machines->len; i++) {
        const QmMachine *ma = g_ptr_array_index(a->machines, i);
        const QmMachine *mb = g_ptr_array_index(b->machines, i);

        g_assert_cmpuint(a->machines->len, ==, b->machines->len);
        g_assert_cmpstr(ma->name, ==, mb->name);
        g_assert_cmpstr(ma->alias, ==, mb->alias);
        g_assert_cmpint(ma->is_default, ==, mb->is_default);
    }
}

/**
 * round_trip() - to JSON text and back
 * @p: profile
 *
 * Return: the profile read back
 */
static QmProfile *round_trip(const QmProfile *p)
{
    g_autoptr(JsonNode) node = qm_profile_to_json(p);
    g_autofree char *text = json_to_string(node, TRUE);
    g_autoptr(JsonNode) parsed = json_from_string(text, NULL);
    g_autoptr(GError) error = NULL;
    QmProfile *back;

    g_assert_nonnull(parsed);
    back = qm_profile_from_json(parsed, &error);
    g_assert_no_error(error);
    g_assert_nonnull(back);
    return back;
}

/* Layout A captures to round-trip, with a fact each must keep. */
static const char *const roundtrip_files[] = {
    "x86_64-cpuid-Xeon-Platinum-8268.json", /* unnamed unavailable */
    "x86_64-cpuid-EPYC-7502-32-Core.json",  /* alias-of, repeats */
    "x86_64-cpuid-Ice-Lake-Server.json",    /* empty model-id */
    "x86_64-cpuid-Core-i7-1270P.json",      /* 148 models */
    "x86_64-cpuid-Hygon-C86-7185-32-core.json",
};

/**
 * test_round_trip() - every field survives qm_profile_to_json() and back
 * @data: capture file
 */
static void test_round_trip(gconstpointer data)
{
    g_autoptr(QmProfile) p = load_capture(data);
    g_autoptr(QmProfile) back = round_trip(p);
    g_autoptr(QmProfile) again = round_trip(back);
    guint unnamed = 0, deprecated = 0, aliased = 0;

    profile_equal(p, back);
    profile_equal(p, again);
    g_assert_nonnull(back->machines);
    g_assert_cmpuint(back->machines->len, >, 50);
    g_assert_cmpuint(g_hash_table_size(back->features), >, 30);
    g_assert_cmpuint(g_hash_table_size(back->known), >,
                     g_hash_table_size(back->features));
    for (guint i = 0; i < back->cpu_models->len; i++) {
        const QmCpuModel *m = g_ptr_array_index(back->cpu_models, i);

        unnamed += m->unnamed_unavailable;
        deprecated += m->deprecated;
        aliased += m->alias_of != NULL;
    }
    if (strstr(data, "8268") != NULL) {
        const QmCpuModel *c = qm_profile_find_model(back, "Cascadelake-Server");

        g_assert_cmpuint(unnamed, ==, 3);
        g_assert_true(c->unnamed_unavailable);
        g_assert_cmpuint(c->unavailable->len, ==, 0);
    }
    /* no capture marks a model deprecated; see round-trip-flags */
    g_assert_cmpuint(deprecated, ==, 0);
    if (strstr(data, "EPYC-7502") != NULL)
        g_assert_cmpuint(aliased, >, 0);
    if (strstr(data, "Ice-Lake") != NULL)
        g_assert_cmpstr(back->model_id, ==, "");
}

/**
 * missing_from() - g_hash_table_find() callback: a key @set lacks
 * @key:   name
 * @value: unused
 * @set:   the other set
 *
 * Return: TRUE when @set lacks @key
 */
static gboolean missing_from(gpointer key, gpointer value, gpointer set)
{
    return !g_hash_table_contains(set, key);
}

/**
 * test_round_trip_model_features() - the catalogue's model features are
 * stored with their model and read back; a model without one stays
 * without, and a non-canonical name in the list is refused
 */
static void test_round_trip_model_features(void)
{
    g_autoptr(QmProfile) p =
        load_capture("x86_64-cpuid-EPYC-9334-32-Core.json");
    g_autoptr(QmProfile) back = NULL;
    gsize len = 0;
    g_autofree char *text = qm_test_read_data("qemu-10.0-cpu-models.qmp", &len);
    guint with = 0;

    g_assert_cmpuint(qm_qmp_models_from_transcript(p, text, len), >, 0);
    back = round_trip(p);
    for (guint i = 0; i < p->cpu_models->len; i++) {
        const QmCpuModel *a = g_ptr_array_index(p->cpu_models, i);
        const QmCpuModel *b = g_ptr_array_index(back->cpu_models, i);

        g_assert_cmpstr(a->name, ==, b->name);
        g_assert_cmpint(a->features == NULL, ==, b->features == NULL);
        if (a->features == NULL)
            continue;
        with++;
        g_assert_cmpuint(g_hash_table_size(a->features), ==,
                         g_hash_table_size(b->features));
        g_assert_true(g_hash_table_find(a->features, (GHRFunc)missing_from,
                                        b->features) == NULL);
    }
    g_assert_cmpuint(with, >, 50);
}

/**
 * test_round_trip_minimal() - NULL members stay NULL, not empty
 */
static void test_round_trip_minimal(void)
{
    g_autoptr(QmProfile) p = qm_profile_new("local");
    g_autoptr(QmProfile) back = NULL;

    p->vendor = g_strdup("AuthenticAMD");
    p->family = 25;
    qm_featset_add(p->features, "svm");
    qm_featset_add(p->known, "svm");
    qm_featset_add(p->known, "vmx");
    back = round_trip(p);
    profile_equal(p, back);
    g_assert_null(back->cpu_models);
    g_assert_null(back->machines);
    g_assert_null(back->qemu_version);
    g_assert_null(back->model_id);
    g_assert_null(back->cpu_brand);
    g_assert_false(back->kvm);
}

/**
 * test_round_trip_empty_lists() - empty model and machine lists stay
 *                                  empty lists, not NULL
 */
static void test_round_trip_empty_lists(void)
{
    g_autoptr(QmProfile) p = qm_profile_new("local");
    g_autoptr(QmProfile) back = NULL;

    p->vendor = g_strdup("GenuineIntel");
    p->cpu_models =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_cpu_model_free);
    p->machines =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_machine_free);
    back = round_trip(p);
    g_assert_nonnull(back->cpu_models);
    g_assert_cmpuint(back->cpu_models->len, ==, 0);
    g_assert_nonnull(back->machines);
    g_assert_cmpuint(back->machines->len, ==, 0);
}

/**
 * test_round_trip_flags() - model and machine flags in every combination
 */
static void test_round_trip_flags(void)
{
    g_autoptr(QmProfile) p = qm_profile_new("local");
    g_autoptr(QmProfile) back = NULL;

    p->vendor = g_strdup("GenuineIntel");
    p->cpu_models =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_cpu_model_free);
    p->machines =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_machine_free);
    for (int i = 0; i < 8; i++) {
        QmCpuModel *m = g_new0(QmCpuModel, 1);
        QmMachine *mach = g_new0(QmMachine, 1);

        m->name = g_strdup_printf("Model-%d", i);
        m->alias_of = i & 1 ? g_strdup_printf("Model-%d-v1", i) : NULL;
        m->unavailable = g_ptr_array_new_with_free_func(g_free);
        if (i & 2) {
            g_ptr_array_add(m->unavailable, g_strdup("avx512f"));
            g_ptr_array_add(m->unavailable, g_strdup("sse4.1"));
        }
        m->unnamed_unavailable = (i & 1) != 0;
        m->migration_safe = (i & 2) != 0;
        m->deprecated = (i & 4) != 0;
        g_ptr_array_add(p->cpu_models, m);
        mach->name = g_strdup_printf("pc-q35-%d.0", i);
        mach->alias = i & 1 ? g_strdup("q35") : NULL;
        mach->is_default = i == 5;
        g_ptr_array_add(p->machines, mach);
    }
    back = round_trip(p);
    profile_equal(p, back);
    g_assert_cmpuint(back->cpu_models->len, ==, 8);
    g_assert_true(
        ((QmCpuModel *)g_ptr_array_index(back->cpu_models, 7))->deprecated);
    g_assert_true(
        ((QmMachine *)g_ptr_array_index(back->machines, 5))->is_default);
}

/**
 * test_to_json_shape() - the documented member names and types
 */
static void test_to_json_shape(void)
{
    g_autoptr(QmProfile) p = load_capture("x86_64-cpuid-Xeon-Gold-6130.json");
    g_autoptr(JsonNode) node = qm_profile_to_json(p);
    JsonObject *obj = json_node_get_object(node);
    JsonArray *features = json_object_get_array_member(obj, "features");
    g_autoptr(GPtrArray) sorted = qm_featset_sorted(p->features);

    g_assert_cmpstr(json_object_get_string_member(obj, "vendor"), ==,
                    "GenuineIntel");
    g_assert_cmpint(json_object_get_int_member(obj, "family"), ==, 6);
    g_assert_cmpint(json_object_get_int_member(obj, "model"), ==, 85);
    g_assert_cmpint(json_object_get_int_member(obj, "stepping"), ==, 4);
    g_assert_cmpint(json_object_get_int_member(obj, "phys-bits"), ==, 46);
    g_assert_true(json_object_get_boolean_member(obj, "kvm"));
    /* features are written sorted, so output is byte-stable */
    g_assert_cmpuint(json_array_get_length(features), ==, sorted->len);
    for (guint i = 0; i < sorted->len; i++)
        g_assert_cmpstr(json_array_get_string_element(features, i), ==,
                        g_ptr_array_index(sorted, i));
    for (guint i = 1; i < sorted->len; i++)
        g_assert_cmpint(strcmp(g_ptr_array_index(sorted, i - 1),
                               g_ptr_array_index(sorted, i)),
                        <, 0);
}

/**
 * test_featset() - set operations
 */
static void test_featset(void)
{
    g_autoptr(GHashTable) set = qm_featset_new();
    g_autoptr(GPtrArray) sorted = NULL;
    g_autoptr(GPtrArray) empty = qm_featset_sorted(NULL);
    char name[] = "pcid";

    qm_featset_add(set, "vmx");
    qm_featset_add(set, name);
    qm_featset_add(set, "3dnowprefetch");
    qm_featset_add(set, "sse4.1");
    qm_featset_add(set, "vmx");
    /* the set keeps its own copy */
    name[0] = 'x';
    g_assert_true(qm_featset_has(set, "pcid"));
    g_assert_false(qm_featset_has(set, "xcid"));
    g_assert_false(qm_featset_has(NULL, "pcid"));
    g_assert_cmpuint(g_hash_table_size(set), ==, 4);
    sorted = qm_featset_sorted(set);
    g_assert_cmpuint(sorted->len, ==, 4);
    g_assert_cmpstr(g_ptr_array_index(sorted, 0), ==, "3dnowprefetch");
    g_assert_cmpstr(g_ptr_array_index(sorted, 1), ==, "pcid");
    g_assert_cmpstr(g_ptr_array_index(sorted, 2), ==, "sse4.1");
    g_assert_cmpstr(g_ptr_array_index(sorted, 3), ==, "vmx");
    g_assert_cmpuint(empty->len, ==, 0);
}

/**
 * test_find_model() - exact, case-sensitive lookup
 */
static void test_find_model(void)
{
    g_autoptr(QmProfile) p = load_capture("x86_64-cpuid-Cooperlake.json");
    g_autoptr(QmProfile) bare = qm_profile_new("x");
    const QmCpuModel *m = qm_profile_find_model(p, "Cooperlake");

    g_assert_nonnull(m);
    g_assert_cmpstr(m->name, ==, "Cooperlake");
    g_assert_null(qm_profile_find_model(p, "cooperlake"));
    g_assert_null(qm_profile_find_model(p, "Cooperlake "));
    g_assert_null(qm_profile_find_model(p, ""));
    g_assert_null(qm_profile_find_model(bare, "Cooperlake"));
}

/* A valid profile document the bad cases below are edited from. */
static const char good_json[] =
    "{\"name\": \"peer\", \"vendor\": \"GenuineIntel\", \"family\": 6, "
    "\"model\": 85, \"stepping\": 4, \"model-id\": \"Xeon\", "
    "\"phys-bits\": 46, \"qemu-version\": \"7.2.0\", \"qemu-package\": \"\", "
    "\"kvm\": true, \"probe-method\": \"ssh-qmp\", \"probed-at\": 1, "
    "\"cpu-brand\": null, \"features\": [\"pcid\", \"sse4.1\"], "
    "\"known-features\": [\"pcid\", \"sse4.1\", \"vmx\"], "
    "\"cpuid-level\": 13, \"cpuid-xlevel\": 2147483656, "
    "\"cpuid-xlevel2\": 0, \"cpuid-level-func7\": -1, \"lmce\": 1, "
    "\"avx10-version\": -1, \"guest-phys-bits\": -1, "
    "\"cpu-props\": [\"level\", \"lmce\", \"pmu\"], "
    "\"cpu-models\": [{\"name\": \"Skylake-Server\", \"alias-of\": null, "
    "\"unavailable-features\": [\"avx512f\"], \"unnamed-unavailable\": true, "
    "\"migration-safe\": true, \"deprecated\": false}], "
    "\"machines\": [{\"name\": \"pc-q35-7.2\", \"alias\": \"q35\", "
    "\"default\": false}]}";

/**
 * test_good_json() - the base document of the bad cases is itself good
 */
static void test_good_json(void)
{
    g_autoptr(JsonNode) node = json_from_string(good_json, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(QmProfile) p = qm_profile_from_json(node, &error);
    const QmCpuModel *m;

    g_assert_no_error(error);
    g_assert_nonnull(p);
    g_assert_cmpstr(p->name, ==, "peer");
    g_assert_cmpint(p->family, ==, 6);
    g_assert_true(p->kvm);
    g_assert_cmpstr(p->qemu_package, ==, "");
    g_assert_null(p->cpu_brand);
    g_assert_true(qm_featset_has(p->features, "sse4.1"));
    g_assert_true(qm_featset_has(p->known, "vmx"));
    g_assert_false(qm_featset_has(p->features, "vmx"));
    g_assert_cmpint(p->cpuid_level, ==, 13);
    g_assert_cmpint(p->cpuid_xlevel, ==, 0x80000008);
    g_assert_cmpint(p->cpuid_xlevel2, ==, 0);
    g_assert_cmpint(p->cpuid_level_func7, ==, -1);
    g_assert_cmpint(p->lmce, ==, 1);
    g_assert_cmpint(p->avx10_version, ==, -1);
    g_assert_cmpint(p->guest_phys_bits, ==, -1);
    g_assert_true(qm_featset_has(p->props, "lmce"));
    g_assert_false(qm_featset_has(p->props, "ucode-rev"));
    m = qm_profile_find_model(p, "Skylake-Server");
    g_assert_nonnull(m);
    g_assert_true(m->unnamed_unavailable);
    g_assert_cmpuint(m->unavailable->len, ==, 1);
    g_assert_cmpstr(((QmMachine *)g_ptr_array_index(p->machines, 0))->alias, ==,
                    "q35");
}

/* A member of good_json replaced by a bad value (JSON text, or NULL to
 * remove it), or a whole bad document. */
typedef struct {
    const char *name;
    const char *member;
    const char *value;
    const char *document;
} BadJson;

static const BadJson bad_json[] = {
    {"not-object", NULL, NULL, "[1, 2]"},
    {"string-root", NULL, NULL, "\"profile\""},
    {"null-root", NULL, NULL, "null"},
    {"no-name", "name", NULL, NULL},
    {"name-number", "name", "42", NULL},
    {"no-vendor", "vendor", NULL, NULL},
    {"vendor-number", "vendor", "42", NULL},
    {"vendor-null", "vendor", "null", NULL},
    {"vendor-array", "vendor", "[\"GenuineIntel\"]", NULL},
    {"no-features", "features", NULL, NULL},
    {"features-string", "features", "\"pcid\"", NULL},
    {"features-object", "features", "{\"pcid\": true}", NULL},
    {"features-null", "features", "null", NULL},
    {"feature-number", "features", "[\"pcid\", 7]", NULL},
    {"feature-null", "features", "[null]", NULL},
    {"feature-nested", "features", "[[\"pcid\"]]", NULL},
    {"feature-upper", "features", "[\"SSE4_1\"]", NULL},
    {"feature-alias", "features", "[\"sse4_1\"]", NULL},
    {"feature-legacy-alias", "features", "[\"sse3\"]", NULL},
    {"feature-comma", "features", "[\"pcid,vmx=off\"]", NULL},
    {"feature-empty", "features", "[\"\"]", NULL},
    {"feature-space", "features", "[\"a b\"]", NULL},
    {"no-known", "known-features", NULL, NULL},
    /* the host model's numbers end up in -cpu values: range-checked */
    {"no-level", "cpuid-level", NULL, NULL},
    {"level-negative", "cpuid-level", "-2", NULL},
    {"level-huge", "cpuid-level", "4294967296", NULL},
    {"level-string", "cpuid-level", "\"13\"", NULL},
    {"level-float", "cpuid-level", "13.5", NULL},
    {"xlevel-null", "cpuid-xlevel", "null", NULL},
    {"lmce-two", "lmce", "2", NULL},
    {"lmce-bool", "lmce", "true", NULL},
    {"avx10-huge", "avx10-version", "256", NULL},
    {"guest-phys-bits-65", "guest-phys-bits", "65", NULL},
    {"no-props", "cpu-props", NULL, NULL},
    {"props-comma", "cpu-props", "[\"level,enforce=off\"]", NULL},
    {"known-number", "known-features", "[1]", NULL},
    {"known-alias", "known-features", "[\"lahf_lm\"]", NULL},
    {"models-entry-number", "cpu-models", "[5]", NULL},
    {"models-entry-array", "cpu-models", "[[]]", NULL},
    {"models-unavailable-missing", "cpu-models",
     "[{\"name\": \"Skylake-Server\"}]", NULL},
    {"models-unavailable-string", "cpu-models",
     "[{\"name\": \"Skylake-Server\", \"unavailable-features\": \"avx\"}]",
     NULL},
    {"models-unavailable-comma", "cpu-models",
     "[{\"name\": \"Skylake-Server\", \"unavailable-features\": [\"x,y\"]}]",
     NULL},
    {"models-unavailable-number", "cpu-models",
     "[{\"name\": \"Skylake-Server\", \"unavailable-features\": [1]}]", NULL},
    /*
     * BUG (wrapper/profile.c load_models()): an entry without a usable
     * name makes qm_profile_from_json() return NULL without setting
     * @error.
     */
    {"models-no-name", "cpu-models", "[{\"unavailable-features\": []}]", NULL},
    {"models-name-number", "cpu-models",
     "[{\"name\": 3, \"unavailable-features\": []}]", NULL},
    /*
     * BUG (wrapper/profile.c qm_profile_from_json(), load_models(),
     * load_machines()): a member of the wrong type is read through
     * json_object_get_*_member_with_default(), which either silently
     * yields 0/FALSE (a string or number) or emits a json-glib CRITICAL
     * (an object or array), or the member is silently dropped
     * (cpu-models/machines not arrays, machine entries not objects).
     * A hand-edited profile must be refused instead.
     */
    {"family-string", "family", "\"6\"", NULL},
    {"family-object", "family", "{}", NULL},
    {"kvm-string", "kvm", "\"yes\"", NULL},
    {"model-id-number", "model-id", "7", NULL},
    {"cpu-models-object", "cpu-models", "{}", NULL},
    {"machine-entry-number", "machines", "[1, {\"name\": \"pc\"}]", NULL},
    {"model-flag-object", "cpu-models",
     "[{\"name\": \"Skylake-Server\", \"unavailable-features\": [], "
     "\"unnamed-unavailable\": {}}]",
     NULL},
};

/**
 * bad_document() - good_json with one member replaced or removed
 * @c: case
 *
 * Return: new JSON node
 */
static JsonNode *bad_document(const BadJson *c)
{
    JsonNode *node;
    JsonObject *obj;

    if (c->document != NULL) {
        node = json_from_string(c->document, NULL);
        g_assert_nonnull(node);
        return node;
    }
    node = json_from_string(good_json, NULL);
    obj = json_node_get_object(node);
    g_assert_true(json_object_has_member(obj, c->member));
    json_object_remove_member(obj, c->member);
    if (c->value != NULL) {
        JsonNode *value = json_from_string(c->value, NULL);

        g_assert_nonnull(value);
        json_object_set_member(obj, c->member, value);
    }
    return node;
}

/**
 * test_bad_json() - a damaged profile is an error, not a crash or warning
 * @data: BadJson
 */
static void test_bad_json(gconstpointer data)
{
    g_autoptr(JsonNode) node = NULL;
    g_autoptr(GError) error = NULL;
    QmProfile *p;

    if (!qm_test_isolated())
        return;
    node = bad_document(data);
    p = qm_profile_from_json(node, &error);
    g_assert_null(p);
    g_assert_nonnull(error);
    g_assert_error(error, QM_ERROR, QM_ERROR_PROTOCOL);
}

/**
 * test_null_node() - a NULL node is an error
 */
static void test_null_node(void)
{
    g_autoptr(GError) error = NULL;

    g_assert_null(qm_profile_from_json(NULL, &error));
    g_assert_error(error, QM_ERROR, QM_ERROR_PROTOCOL);
}

/**
 * main() - register and run the profile tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_keep_going(&argc, &argv);
    qm_test_init(&argc, &argv);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

    g_test_add_func("/profile/featset", test_featset);
    g_test_add_func("/profile/find-model", test_find_model);
    for (gsize i = 0; i < G_N_ELEMENTS(roundtrip_files); i++) {
        g_autofree char *path =
            g_strdup_printf("/profile/round-trip/%s", roundtrip_files[i] + 13);

        g_test_add_data_func(path, roundtrip_files[i], test_round_trip);
    }
    g_test_add_func("/profile/round-trip-minimal", test_round_trip_minimal);
    g_test_add_func("/profile/round-trip-model-features",
                    test_round_trip_model_features);
    g_test_add_func("/profile/round-trip-empty-lists",
                    test_round_trip_empty_lists);
    g_test_add_func("/profile/round-trip-flags", test_round_trip_flags);
    g_test_add_func("/profile/to-json-shape", test_to_json_shape);
    g_test_add_func("/profile/from-json/good", test_good_json);
    g_test_add_func("/profile/from-json/null-node", test_null_node);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_json); i++) {
        g_autofree char *path =
            g_strdup_printf("/profile/from-json/bad/%s", bad_json[i].name);

        g_test_add_data_func(path, &bad_json[i], test_bad_json);
    }
    return g_test_run();
}
