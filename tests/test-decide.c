/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: the decision, on recorded real CPUs and synthetic hosts.
 */
#include <string.h>

#include "testutil.h"
#include "wrapper/decide.h"
#include "wrapper/error.h"
#include "wrapper/feature.h"
#include "wrapper/qmp.h"

#define GOLD6130 "x86_64-cpuid-Xeon-Gold-6130.json"
#define GOLD6148 "x86_64-cpuid-Xeon-Gold-6148.json"
#define PLAT8268 "x86_64-cpuid-Xeon-Platinum-8268.json"
#define I78700   "x86_64-cpuid-Core-i7-8700.json"
#define I75600U  "x86_64-cpuid-Core-i7-5600U.json"
#define CORE2    "x86_64-cpuid-Core2-E6850.json"
#define COOPER   "x86_64-cpuid-Cooperlake.json"
#define ICELAKE  "x86_64-cpuid-Ice-Lake-Server.json"
#define EPYC7601 "x86_64-cpuid-EPYC-7601-32-Core.json"
#define EPYC7502 "x86_64-cpuid-EPYC-7502-32-Core.json"
#define HYGON    "x86_64-cpuid-Hygon-C86-7185-32-core.json"

/* ---- helpers --------------------------------------------------------- */

/**
 * load_profile() - a recorded capture as a host profile
 * @file: capture in tests/data
 * @name: host name to give the profile
 *
 * Return: new profile
 */
static QmProfile *load_profile(const char *file, const char *name)
{
    gsize len;
    g_autofree char *text = qm_test_read_data(file, &len);
    g_autoptr(GPtrArray) docs = NULL;
    g_autoptr(GHashTable) replies = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GError) error = NULL;
    QmProfile *profile = NULL;

    g_assert_true(qm_qmp_split(text, len, &docs, &error));
    g_assert_no_error(error);
    for (guint i = 0; i < docs->len; i++) {
        JsonObject *obj = json_node_get_object(g_ptr_array_index(docs, i));

        g_hash_table_insert(replies,
                            (gpointer)json_object_get_string_member(obj, "id"),
                            g_ptr_array_index(docs, i));
    }
    g_assert_true(qm_qmp_profile_from_replies(file, replies, &profile, &error));
    g_assert_no_error(error);
    g_free(profile->name);
    profile->name = g_strdup(name);
    profile->qemu_version = g_strdup("7.2.0");
    return profile;
}

/**
 * synth_profile() - a hand-made profile
 * @name:     host name
 * @vendor:   CPUID vendor
 * @features: canonical features, NULL-terminated
 *
 * Return: new profile with an empty model list
 */
static QmProfile *synth_profile(const char *name, const char *vendor,
                                const char *const *features)
{
    QmProfile *p = qm_profile_new(name);

    p->vendor = g_strdup(vendor);
    p->qemu_version = g_strdup("8.2.0");
    for (gsize i = 0; features[i] != NULL; i++) {
        qm_featset_add(p->features, features[i]);
        qm_featset_add(p->known, features[i]);
    }
    p->cpu_models =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_cpu_model_free);
    return p;
}

/**
 * synth_model() - add a CPU model to a synthetic profile
 * @p:           profile
 * @name:        model name
 * @unavailable: canonical names, sorted, NULL-terminated
 * @unnamed:     the unnamed_unavailable flag
 * @deprecated:  the deprecated flag
 */
static void synth_model(QmProfile *p, const char *name,
                        const char *const *unavailable, gboolean unnamed,
                        gboolean deprecated)
{
    QmCpuModel *m = g_new0(QmCpuModel, 1);

    m->name = g_strdup(name);
    m->unavailable = g_ptr_array_new_with_free_func(g_free);
    for (gsize i = 0; unavailable[i] != NULL; i++)
        g_ptr_array_add(m->unavailable, g_strdup(unavailable[i]));
    m->unnamed_unavailable = unnamed;
    m->migration_safe = TRUE;
    m->deprecated = deprecated;
    g_ptr_array_add(p->cpu_models, m);
}

/**
 * peers_of() - a borrowed array of peer profiles
 * @first: first profile, then more, NULL-terminated
 *
 * Return: new array (does not own the profiles)
 */
static GPtrArray *peers_of(QmProfile *first, ...)
{
    GPtrArray *peers = g_ptr_array_new();
    va_list ap;

    va_start(ap, first);
    for (QmProfile *p = first; p != NULL; p = va_arg(ap, QmProfile *))
        g_ptr_array_add(peers, p);
    va_end(ap);
    return peers;
}

/**
 * decide_ok() - qm_decide() that must succeed
 * @value: -cpu value or NULL
 * @local: local profile
 * @peers: peers
 * @flags: QM_DECIDE_* flags
 *
 * Return: the decision
 */
static QmDecision *decide_ok(const char *value, const QmProfile *local,
                             GPtrArray *peers, unsigned flags)
{
    QmDecision *d = NULL;
    g_autoptr(GError) error = NULL;
    gboolean ok = qm_decide(value, local, peers, flags, &d, &error);

    g_assert_no_error(error);
    g_assert_true(ok);
    g_assert_nonnull(d);
    g_assert_nonnull(d->hidden);
    g_assert_nonnull(d->warnings);
    return d;
}

/**
 * decide_fail() - qm_decide() that must fail
 * @value: -cpu value or NULL
 * @local: local profile
 * @peers: peers
 * @flags: QM_DECIDE_* flags
 * @code:  expected QmErrorCode
 *
 * Return: the error
 */
static GError *decide_fail(const char *value, const QmProfile *local,
                           GPtrArray *peers, unsigned flags, int code)
{
    QmDecision *d = NULL;
    GError *error = NULL;

    g_assert_false(qm_decide(value, local, peers, flags, &d, &error));
    g_assert_error(error, QM_ERROR, code);
    g_assert_null(d);
    return error;
}

/**
 * assert_mentions() - an error message names each given string
 * @error: error
 * @...:   strings, NULL-terminated
 */
static void assert_mentions(const GError *error, ...)
{
    va_list ap;

    va_start(ap, error);
    for (const char *s = va_arg(ap, const char *); s != NULL;
         s = va_arg(ap, const char *)) {
        if (strstr(error->message, s) == NULL)
            g_test_message("\"%s\" not in: %s", s, error->message);
        g_assert_nonnull(strstr(error->message, s));
    }
    va_end(ap);
}

/**
 * cmp_str() - GCompareFunc for a GList of strings
 * @a: string
 * @b: string
 *
 * Return: strcmp() order
 */
static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(a, b);
}

/**
 * expected_host_hidden() - local features some peer lacks, computed here
 * @local: local profile
 * @peers: peers
 *
 * Return: sorted GList of borrowed names
 */
static GList *expected_host_hidden(const QmProfile *local, GPtrArray *peers)
{
    GList *names = NULL;
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, local->features);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        for (guint i = 0; i < peers->len; i++) {
            const QmProfile *p = g_ptr_array_index(peers, i);

            if (!g_hash_table_contains(p->features, key)) {
                names = g_list_prepend(names, key);
                break;
            }
        }
    }
    return g_list_sort(names, cmp_str);
}

/**
 * assert_hidden_names() - the decision hides exactly these, in this order
 * @d:     decision
 * @names: sorted GList of names
 */
static void assert_hidden_names(const QmDecision *d, GList *names)
{
    guint i = 0;

    for (GList *l = names; l; l = l->next, i++) {
        g_assert_cmpuint(i, <, d->hidden->len);
        g_assert_cmpstr(((QmHidden *)g_ptr_array_index(d->hidden, i))->name, ==,
                        l->data);
    }
    g_assert_cmpuint(d->hidden->len, ==, i);
}

/**
 * expected_value() - "@base,f=off" for each name, or NULL when none
 * @base:  the user's value
 * @names: GList of names
 * @skip:  a name the user already turned off, or NULL
 *
 * Return: newly allocated value
 */
static char *expected_value(const char *base, GList *names, const char *skip)
{
    GString *v = g_string_new(base);
    gboolean any = FALSE;

    for (GList *l = names; l; l = l->next) {
        if (skip != NULL && strcmp(l->data, skip) == 0)
            continue;
        g_string_append_printf(v, ",%s=off", (char *)l->data);
        any = TRUE;
    }
    if (!any) {
        g_string_free(v, TRUE);
        return NULL;
    }
    return g_string_free(v, FALSE);
}

/**
 * assert_no_duplicate_items() - a -cpu value never repeats an item
 * @value: value, or NULL
 */
static void assert_no_duplicate_items(const char *value)
{
    g_auto(GStrv) items = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    if (value == NULL)
        return;
    items = g_strsplit(value, ",", -1);
    for (char **it = items; *it; it++) {
        g_assert_false(g_hash_table_contains(seen, *it));
        g_hash_table_add(seen, *it);
    }
}

/**
 * hidden_find() - the QmHidden entry of a feature
 * @d:    decision
 * @name: feature
 *
 * Return: entry or NULL
 */
static const QmHidden *hidden_find(const QmDecision *d, const char *name)
{
    for (guint i = 0; i < d->hidden->len; i++) {
        const QmHidden *h = g_ptr_array_index(d->hidden, i);

        if (strcmp(h->name, name) == 0)
            return h;
    }
    return NULL;
}

/**
 * lacking_has() - does a hidden entry name this host as lacking?
 * @h:    entry
 * @host: host name
 *
 * Return: TRUE if listed
 */
static gboolean lacking_has(const QmHidden *h, const char *host)
{
    for (guint i = 0; i < h->lacking->len; i++) {
        if (strcmp(g_ptr_array_index(h->lacking, i), host) == 0)
            return TRUE;
    }
    return FALSE;
}

/* ---- -cpu host on recorded pairs ------------------------------------ */

typedef struct {
    const char *local;
    const char *peer;
} Pair;

static const Pair host_pairs[] = {
    {GOLD6130, I78700},   {I78700, GOLD6130},   {PLAT8268, GOLD6130},
    {GOLD6130, PLAT8268}, {COOPER, ICELAKE},    {ICELAKE, COOPER},
    {EPYC7502, EPYC7601}, {EPYC7601, EPYC7502}, {I75600U, CORE2},
    {GOLD6148, GOLD6130}, {GOLD6130, GOLD6130},
};

/**
 * test_host_pair() - hidden == local - peer, value built from it
 * @data: Pair
 */
static void test_host_pair(gconstpointer data)
{
    const Pair *pair = data;
    g_autoptr(QmProfile) local = load_profile(pair->local, "local");
    g_autoptr(QmProfile) peer = load_profile(pair->peer, "hostB");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d = decide_ok("host", local, peers, 0);
    g_autoptr(GList) want = expected_host_hidden(local, peers);
    g_autofree char *value = expected_value("host", want, NULL);

    g_test_message("%s -> %s: %u hidden", pair->local, pair->peer,
                   g_list_length(want));
    g_assert_cmpstr(d->mode, ==, "host");
    g_assert_cmpstr(d->model, ==, "host");
    assert_hidden_names(d, want);
    for (guint i = 0; i < d->hidden->len; i++) {
        const QmHidden *h = g_ptr_array_index(d->hidden, i);

        g_assert_cmpuint(h->lacking->len, ==, 1);
        g_assert_cmpstr(g_ptr_array_index(h->lacking, 0), ==, "hostB");
        g_assert_true(qm_feature_name_valid(h->name));
        g_assert_false(qm_feature_is_option(h->name));
    }
    g_assert_cmpstr(d->cpu_value, ==, value);
    assert_no_duplicate_items(d->cpu_value);
    g_assert_false(d->add_cpu);
    if (strcmp(pair->local, pair->peer) == 0)
        g_assert_null(d->cpu_value);
}

/**
 * test_host_known_facts() - hand-checked hidden features
 */
static void test_host_known_facts(void)
{
    g_autoptr(QmProfile) gold = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) i7 = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(i7, NULL);
    g_autoptr(QmDecision) d = decide_ok("host", gold, peers, 0);

    /* the desktop has neither AVX-512 nor (in this capture) VMX */
    g_assert_nonnull(hidden_find(d, "avx512f"));
    g_assert_nonnull(hidden_find(d, "avx512bw"));
    g_assert_nonnull(hidden_find(d, "vmx"));
    g_assert_null(hidden_find(d, "avx2"));
    g_assert_null(hidden_find(d, "sse4.1"));
    g_assert_nonnull(strstr(d->cpu_value, ",avx512f=off"));
    g_assert_null(strstr(d->cpu_value, "avx2=off"));
    g_assert_true(g_str_has_prefix(d->cpu_value, "host,"));
}

/**
 * test_host_no_peers() - nothing to compare with: nothing changes
 */
static void test_host_no_peers(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(GPtrArray) peers = g_ptr_array_new();
    g_autoptr(QmDecision) d = decide_ok("host", local, peers, 0);

    g_assert_cmpuint(d->hidden->len, ==, 0);
    g_assert_null(d->cpu_value);
    g_assert_false(d->add_cpu);
}

/**
 * test_host_identical() - identical hosts under different names
 */
static void test_host_identical(void)
{
    g_autoptr(QmProfile) local = load_profile(EPYC7502, "local");
    g_autoptr(QmProfile) b = load_profile(EPYC7502, "b");
    g_autoptr(QmProfile) c = load_profile(EPYC7502, "c");
    g_autoptr(GPtrArray) peers = peers_of(b, c, NULL);
    g_autoptr(QmDecision) d = decide_ok("host,+svm", local, peers, 0);

    g_assert_cmpuint(d->hidden->len, ==, 0);
    g_assert_null(d->cpu_value);
    g_assert_false(d->add_cpu);
    g_assert_cmpuint(d->warnings->len, ==, 0);
}

/**
 * test_host_user_off() - a feature the user turns off is not appended again
 */
static void test_host_user_off(void)
{
    static const char *const values[] = {
        "host,avx512f=off",       "host,-avx512f",
        "host,avx512f=no",        "host,avx512f=on,avx512f=false",
        "host,+avx512f,-avx512f",
    };
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(GList) want = expected_host_hidden(local, peers);

    g_assert_nonnull(g_list_find_custom(want, "avx512f", cmp_str));
    for (gsize i = 0; i < G_N_ELEMENTS(values); i++) {
        g_autoptr(QmDecision) d = decide_ok(values[i], local, peers, 0);
        g_autofree char *value = expected_value(values[i], want, "avx512f");
        g_autofree char *twice = g_strdup_printf("%s,avx512f=off", values[i]);

        g_assert_cmpstr(d->cpu_value, ==, value);
        g_assert_true(g_str_has_prefix(d->cpu_value, values[i]));
        g_assert_null(strstr(d->cpu_value + strlen(values[i]), "avx512f"));
        g_assert_false(g_str_has_prefix(d->cpu_value, twice));
    }
}

/**
 * test_host_user_off_alias() - the user's alias spelling counts too
 */
static void test_host_user_off_alias(void)
{
    static const char *const lf[] = {"fpu", "sse4.1", "lahf-lm", NULL};
    static const char *const pf[] = {"fpu", NULL};
    g_autoptr(QmProfile) local = synth_profile("local", "GenuineIntel", lf);
    g_autoptr(QmProfile) peer = synth_profile("b", "GenuineIntel", pf);
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d =
        decide_ok("host,sse4_1=off,-lahf_lm", local, peers, 0);

    /* both are hidden, neither is appended: the user's spelling does it */
    g_assert_nonnull(hidden_find(d, "sse4.1"));
    g_assert_nonnull(hidden_find(d, "lahf-lm"));
    g_assert_null(d->cpu_value);
    g_assert_false(d->add_cpu);
}

/**
 * test_host_user_on_lacking() - turning on what a peer lacks is refused
 */
static void test_host_user_on_lacking(void)
{
    static const char *const values[] = {
        "host,+avx512f",    "host,avx512f=on",           "host,avx512f",
        "host,avx512f=yes", "host,avx512f=off,+avx512f",
    };
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk.example");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(values); i++) {
        g_autoptr(GError) error =
            decide_fail(values[i], local, peers, 0, QM_ERROR_INCOMPATIBLE);

        assert_mentions(error, "avx512f", "desk.example", NULL);
        g_assert_cmpint(qm_error_exit_code(error), ==, 7);
    }
}

/**
 * isolated() - run the calling test's body in a subprocess
 *
 * A failure in the child fails only this test; the parent goes on with
 * the others.
 *
 * Return: TRUE in the child (run the body), FALSE in the parent, which has
 * already recorded the child's verdict
 */
static gboolean isolated(void)
{
    if (g_test_subprocess())
        return TRUE;
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    if (!g_test_trap_has_passed()) {
        g_test_message("failed in a subprocess; its stderr is above");
        g_test_fail();
    }
    return FALSE;
}

/**
 * test_host_user_mixed_forms() - "+f" then "f=off": QEMU turns f on
 *
 * QEMU applies +f after every f=on|off (x86_cpu_expand_features()), so
 * "host,+avx512f,avx512f=off" gives the guest avx512f, which the desktop
 * lacks: the decision must refuse it, as it refuses "host,+avx512f".
 *
 * BUG (wrapper/qemuargs.c qm_cpuspec_parse(), see test-qemuargs
 * /qemuargs/cpuspec/qemu-order): the last item wins there, so qemu-mig
 * thinks avx512f is off, checks nothing, appends nothing, and the guest
 * cannot migrate.  Fails until that is fixed.
 */
static void test_host_user_mixed_forms(void)
{
    g_autoptr(QmProfile) local = NULL;
    g_autoptr(QmProfile) peer = NULL;
    g_autoptr(GPtrArray) peers = NULL;
    g_autoptr(GError) error = NULL;

    if (!isolated())
        return;
    local = load_profile(GOLD6130, "local");
    peer = load_profile(I78700, "desk.example");
    peers = peers_of(peer, NULL);
    error = decide_fail("host,+avx512f,avx512f=off", local, peers, 0,
                        QM_ERROR_INCOMPATIBLE);
    assert_mentions(error, "avx512f", "desk.example", NULL);
}

/**
 * test_host_user_on_local_lacks() - the local host is checked as well
 */
static void test_host_user_on_local_lacks(void)
{
    g_autoptr(QmProfile) local = load_profile(I78700, "this-box");
    g_autoptr(QmProfile) peer = load_profile(GOLD6130, "gold");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(GError) error =
        decide_fail("host,+avx512f", local, peers, 0, QM_ERROR_INCOMPATIBLE);

    assert_mentions(error, "avx512f", "this-box", NULL);
}

/**
 * test_host_user_on_alias() - +sse4_1 is checked as sse4.1
 */
static void test_host_user_on_alias(void)
{
    static const char *const lf[] = {"fpu", "sse4.1", NULL};
    static const char *const pf[] = {"fpu", NULL};
    g_autoptr(QmProfile) local = synth_profile("local", "GenuineIntel", lf);
    g_autoptr(QmProfile) peer = synth_profile("old-box", "GenuineIntel", pf);
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(GError) error =
        decide_fail("host,+sse4_1", local, peers, 0, QM_ERROR_INCOMPATIBLE);

    assert_mentions(error, "sse4.1", "old-box", NULL);
}

/**
 * test_host_user_on_shared() - turning on what everybody has is fine
 */
static void test_host_user_on_shared(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d = decide_ok("host,+avx2,pcid=on", local, peers, 0);

    g_assert_true(g_str_has_prefix(d->cpu_value, "host,+avx2,pcid=on,"));
    g_assert_null(strstr(d->cpu_value, "avx2=off"));
    g_assert_null(strstr(d->cpu_value, "pcid=off"));
}

/**
 * test_host_options() - QEMU settings are never checked nor hidden
 */
static void test_host_options(void)
{
    static const char *const value =
        "host,pmu=on,check,enforce,migratable=on,l3-cache=on,"
        "host-phys-bits=on,hv-relaxed=on,+hv-vapic,kvm=off,x-force-features";
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d = decide_ok(value, local, peers, 0);
    g_autoptr(GList) want = expected_host_hidden(local, peers);
    g_autofree char *expect = expected_value(value, want, NULL);
    static const char *const opts[] = {
        "pmu",        "check",
        "enforce",    "migratable",
        "l3-cache",   "host-phys-bits",
        "hv-relaxed", "hv-vapic",
        "kvm",        "x-force-features",
    };

    g_assert_cmpstr(d->cpu_value, ==, expect);
    for (gsize i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *off = g_strdup_printf(",%s=off", opts[i]);

        g_assert_null(hidden_find(d, opts[i]));
        if (strcmp(opts[i], "kvm") != 0)
            g_assert_null(strstr(d->cpu_value, off));
    }
}

/**
 * test_host_options_identical() - options alone change nothing
 */
static void test_host_options_identical(void)
{
    g_autoptr(QmProfile) local = load_profile(PLAT8268, "local");
    g_autoptr(QmProfile) peer = load_profile(PLAT8268, "twin");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d =
        decide_ok("host,pmu=on,check,hv-passthrough=on", local, peers, 0);

    g_assert_cmpuint(d->hidden->len, ==, 0);
    g_assert_null(d->cpu_value);
}

/**
 * test_host_several_peers() - lacking lists name each lacking host
 */
static void test_host_several_peers(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) b = load_profile(I78700, "b");
    g_autoptr(QmProfile) c = load_profile(PLAT8268, "c");
    g_autoptr(QmProfile) d6148 = load_profile(GOLD6148, "d");
    g_autoptr(GPtrArray) peers = peers_of(b, c, d6148, NULL);
    g_autoptr(QmDecision) d = decide_ok("host", local, peers, 0);
    g_autoptr(GList) want = expected_host_hidden(local, peers);
    guint multi = 0;

    assert_hidden_names(d, want);
    for (guint i = 0; i < d->hidden->len; i++) {
        const QmHidden *h = g_ptr_array_index(d->hidden, i);
        guint n = 0;

        for (guint k = 0; k < peers->len; k++) {
            const QmProfile *p = g_ptr_array_index(peers, k);
            gboolean lacks = !qm_featset_has(p->features, h->name);

            g_assert_cmpint(lacking_has(h, p->name), ==, lacks);
            n += lacks;
        }
        g_assert_false(lacking_has(h, "local"));
        g_assert_cmpuint(h->lacking->len, ==, n);
        multi += n > 1;
    }
    /* avx512f: only the desktop lacks it; vmx: all three lack it */
    g_assert_cmpuint(hidden_find(d, "avx512f")->lacking->len, ==, 1);
    g_assert_cmpuint(hidden_find(d, "vmx")->lacking->len, ==, 3);
    g_assert_cmpuint(multi, >, 0);
}

/**
 * test_host_determinism() - the same peers in any order, the same value
 */
static void test_host_determinism(void)
{
    g_autoptr(QmProfile) local = load_profile(COOPER, "local");
    g_autoptr(QmProfile) b = load_profile(ICELAKE, "b");
    g_autoptr(QmProfile) c = load_profile(PLAT8268, "c");
    g_autoptr(QmProfile) e = load_profile(GOLD6130, "e");
    g_autoptr(GPtrArray) order1 = peers_of(b, c, e, NULL);
    g_autoptr(GPtrArray) order2 = peers_of(e, b, c, NULL);
    g_autoptr(GPtrArray) order3 = peers_of(c, e, b, NULL);
    g_autoptr(QmDecision) d1 = decide_ok("host,+avx2", local, order1, 0);
    g_autoptr(QmDecision) d2 = decide_ok("host,+avx2", local, order2, 0);
    g_autoptr(QmDecision) d3 = decide_ok("host,+avx2", local, order3, 0);

    g_assert_nonnull(d1->cpu_value);
    g_assert_cmpstr(d1->cpu_value, ==, d2->cpu_value);
    g_assert_cmpstr(d1->cpu_value, ==, d3->cpu_value);
    g_assert_cmpuint(d1->hidden->len, ==, d2->hidden->len);
    for (guint i = 0; i < d1->hidden->len; i++) {
        const QmHidden *h = g_ptr_array_index(d1->hidden, i);

        g_assert_cmpstr(h->name, ==,
                        ((QmHidden *)g_ptr_array_index(d2->hidden, i))->name);
        if (i > 0)
            g_assert_cmpint(
                strcmp(((QmHidden *)g_ptr_array_index(d1->hidden, i - 1))->name,
                       h->name),
                <, 0);
    }
}

/**
 * test_max() - -cpu max behaves like host, with a warning
 */
static void test_max(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d = decide_ok("max", local, peers, 0);
    g_autoptr(QmDecision) h = decide_ok("host", local, peers, 0);
    g_autoptr(GList) want = expected_host_hidden(local, peers);
    g_autofree char *value = expected_value("max", want, NULL);
    gboolean warned = FALSE;

    g_assert_cmpstr(d->mode, ==, "max");
    g_assert_cmpstr(d->model, ==, "max");
    assert_hidden_names(d, want);
    g_assert_cmpstr(d->cpu_value, ==, value);
    g_assert_cmpstr(d->cpu_value + 3, ==, h->cpu_value + 4);
    for (guint i = 0; i < d->warnings->len; i++)
        warned |= strstr(g_ptr_array_index(d->warnings, i), "max") != NULL;
    g_assert_true(warned);
    g_assert_cmpuint(h->warnings->len, ==, 0);
}

/**
 * test_cross_vendor() - Intel and AMD refused, unless allowed
 */
static void test_cross_vendor(void)
{
    g_autoptr(QmProfile) intel = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) amd = load_profile(EPYC7502, "rome");
    g_autoptr(QmProfile) hygon = load_profile(HYGON, "dhyana");
    g_autoptr(GPtrArray) peers = peers_of(amd, NULL);
    g_autoptr(GPtrArray) amd_peers = peers_of(hygon, NULL);
    g_autoptr(GError) error =
        decide_fail("host", intel, peers, 0, QM_ERROR_INCOMPATIBLE);
    g_autoptr(GError) error2 =
        decide_fail("host", amd, amd_peers, 0, QM_ERROR_INCOMPATIBLE);
    g_autoptr(GError) error3 =
        decide_fail(NULL, intel, peers, 0, QM_ERROR_INCOMPATIBLE);
    g_autoptr(QmDecision) d =
        decide_ok("host", intel, peers, QM_DECIDE_ALLOW_CROSS_VENDOR);
    g_autoptr(GList) want = expected_host_hidden(intel, peers);
    gboolean warned = FALSE;

    assert_mentions(error, "GenuineIntel", "AuthenticAMD", "rome", NULL);
    assert_mentions(error2, "AuthenticAMD", "HygonGenuine", NULL);
    assert_mentions(error3, "GenuineIntel", "AuthenticAMD", NULL);

    assert_hidden_names(d, want);
    g_assert_nonnull(hidden_find(d, "vmx"));
    for (guint i = 0; i < d->warnings->len; i++) {
        const char *w = g_ptr_array_index(d->warnings, i);

        warned |= strstr(w, "GenuineIntel") && strstr(w, "AuthenticAMD");
    }
    g_assert_true(warned);
}

/* ---- named models --------------------------------------------------- */

/**
 * raw_unavailable() - canonical unavailable features read from the file
 * @file:  capture
 * @model: model name
 * @set:   set to add them to
 *
 * Return: TRUE when the model is listed
 */
static gboolean raw_unavailable(const char *file, const char *model,
                                GHashTable *set)
{
    g_autofree char *text = qm_test_read_data(file, NULL);
    const char *start = strstr(text, "\n}\n");
    g_autoptr(JsonNode) defs = NULL;
    JsonArray *list;

    /* layout A: the definitions reply is the second document */
    g_assert_nonnull(start);
    defs = json_from_string(start + 2, NULL);
    g_assert_nonnull(defs);
    list = json_object_get_array_member(json_node_get_object(defs), "return");
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonObject *m = json_array_get_object_element(list, i);
        JsonArray *u;

        if (strcmp(json_object_get_string_member(m, "name"), model) != 0)
            continue;
        u = json_object_get_array_member(m, "unavailable-features");
        for (guint k = 0; k < json_array_get_length(u); k++)
            g_hash_table_add(
                set, qm_feature_canon(json_array_get_string_element(u, k)));
        return TRUE;
    }
    return FALSE;
}

typedef struct {
    const char *local;
    const char *peer;
    const char *model;
    guint min_hidden;
} NamedCase;

static const NamedCase named_cases[] = {
    {GOLD6130, I78700, "Skylake-Server", 6},
    {I78700, GOLD6130, "Skylake-Server", 6},
    {GOLD6130, I78700, "Skylake-Server-IBRS", 6},
    {GOLD6130, PLAT8268, "Skylake-Server", 0},
    {GOLD6130, I78700, "Skylake-Client", 0},
    {"x86_64-cpuid-EPYC-9334-32-Core.json",
     "x86_64-cpuid-EPYC-7713-64-Core.json", "EPYC-Milan", 0},
    {"x86_64-cpuid-EPYC-7713-64-Core.json", EPYC7502, "Skylake-Server", 7},
    {ICELAKE, COOPER, "Cascadelake-Server", 0},
    {"x86_64-cpuid-Atom-P5362.json", GOLD6130, "Skylake-Server", 10},
};

/**
 * test_named() - hidden == union of both hosts' unavailable features
 * @data: NamedCase
 */
static void test_named(gconstpointer data)
{
    const NamedCase *c = data;
    g_autoptr(QmProfile) local = load_profile(c->local, "local");
    g_autoptr(QmProfile) peer = load_profile(c->peer, "hostB");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(GHashTable) lu =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) pu =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) all = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GList) want = NULL;
    g_autofree char *value = NULL;
    g_autoptr(QmDecision) d = NULL;
    GHashTableIter iter;
    gpointer key;

    g_assert_true(raw_unavailable(c->local, c->model, lu));
    g_assert_true(raw_unavailable(c->peer, c->model, pu));
    g_hash_table_iter_init(&iter, lu);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_hash_table_add(all, key);
    g_hash_table_iter_init(&iter, pu);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_hash_table_add(all, key);
    want = g_list_sort(g_hash_table_get_keys(all), cmp_str);
    value = expected_value(c->model, want, NULL);

    g_assert_cmpuint(g_hash_table_size(all), >=, c->min_hidden);

    d = decide_ok(c->model, local, peers, 0);
    g_test_message("%s on %s + %s: %u hidden", c->model, c->local, c->peer,
                   d->hidden->len);
    g_assert_cmpstr(d->mode, ==, "named");
    g_assert_cmpstr(d->model, ==, c->model);
    assert_hidden_names(d, want);
    for (guint i = 0; i < d->hidden->len; i++) {
        const QmHidden *h = g_ptr_array_index(d->hidden, i);

        g_assert_cmpint(lacking_has(h, "local"), ==,
                        g_hash_table_contains(lu, h->name));
        g_assert_cmpint(lacking_has(h, "hostB"), ==,
                        g_hash_table_contains(pu, h->name));
    }
    g_assert_cmpstr(d->cpu_value, ==, value);
    assert_no_duplicate_items(d->cpu_value);
    g_assert_false(d->add_cpu);
}

/**
 * test_named_skylake_facts() - hand-checked Skylake-Server on 6130 + 8700
 */
static void test_named_skylake_facts(void)
{
    static const char *const want[] = {
        "avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl", "clwb",
    };
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d =
        decide_ok("Skylake-Server,-pcid,+avx2", local, peers, 0);

    g_assert_cmpuint(d->hidden->len, ==, G_N_ELEMENTS(want));
    for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
        const QmHidden *h = g_ptr_array_index(d->hidden, i);

        g_assert_cmpstr(h->name, ==, want[i]);
        g_assert_cmpuint(h->lacking->len, ==, 1);
        g_assert_cmpstr(g_ptr_array_index(h->lacking, 0), ==, "desk");
    }
    g_assert_cmpstr(d->cpu_value, ==,
                    "Skylake-Server,-pcid,+avx2,avx512bw=off,avx512cd=off,"
                    "avx512dq=off,avx512f=off,avx512vl=off,clwb=off");
}

/**
 * test_named_user_off() - named mode honours the user's own "off" too
 */
static void test_named_user_off(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d =
        decide_ok("Skylake-Server,avx512f=off,-clwb", local, peers, 0);

    g_assert_cmpstr(d->cpu_value, ==,
                    "Skylake-Server,avx512f=off,-clwb,avx512bw=off,"
                    "avx512cd=off,avx512dq=off,avx512vl=off");
}

/**
 * test_named_unknown() - a model a host does not know is refused
 */
static void test_named_unknown(void)
{
    g_autoptr(QmProfile) gold = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) desk = load_profile(I78700, "desk.lan");
    g_autoptr(GPtrArray) peers = peers_of(desk, NULL);
    g_autoptr(QmProfile) desk_local = load_profile(I78700, "this-box");
    g_autoptr(QmProfile) gold_peer = load_profile(GOLD6130, "gold");
    g_autoptr(GPtrArray) peers2 = peers_of(gold_peer, NULL);
    g_autoptr(GError) e1 = decide_fail("Cascadelake-Server", gold, peers, 0,
                                       QM_ERROR_INCOMPATIBLE);
    g_autoptr(GError) e2 = decide_fail("Cascadelake-Server", desk_local, peers2,
                                       0, QM_ERROR_INCOMPATIBLE);
    g_autoptr(GError) e3 =
        decide_fail("No-Such-CPU", gold, peers, 0, QM_ERROR_INCOMPATIBLE);

    /* the premise, from the files */
    g_assert_nonnull(qm_profile_find_model(gold, "Cascadelake-Server"));
    g_assert_null(qm_profile_find_model(desk, "Cascadelake-Server"));
    assert_mentions(e1, "Cascadelake-Server", "desk.lan", NULL);
    assert_mentions(e2, "Cascadelake-Server", "this-box", NULL);
    assert_mentions(e3, "No-Such-CPU", NULL);
}

/**
 * test_named_no_definitions() - a layout B peer cannot check a model
 */
static void test_named_no_definitions(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(GOLD6148, "old-qemu");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(GError) error =
        decide_fail("Skylake-Server", local, peers, 0, QM_ERROR_QEMU);
    g_autoptr(GError) dflt = decide_fail(NULL, local, peers, 0, QM_ERROR_QEMU);
    g_autoptr(QmDecision) host = decide_ok("host", local, peers, 0);

    g_assert_null(peer->cpu_models);
    assert_mentions(error, "old-qemu", NULL);
    assert_mentions(dflt, "old-qemu", NULL);
    g_assert_cmpint(qm_error_exit_code(error), ==, 5);
    /* -cpu host needs no definitions */
    g_assert_nonnull(host->cpu_value);
}

/**
 * test_named_unnamed() - Cascadelake-Server on Xeon-Platinum-8268
 */
static void test_named_unnamed(void)
{
    g_autoptr(QmProfile) plat = load_profile(PLAT8268, "plat");
    g_autoptr(QmProfile) gold = load_profile(GOLD6130, "local");
    g_autoptr(GPtrArray) peers = peers_of(plat, NULL);
    g_autoptr(QmProfile) plat_local = load_profile(PLAT8268, "local");
    g_autoptr(GPtrArray) peers2 = peers_of(gold, NULL);
    g_autoptr(GError) e1 = decide_fail("Cascadelake-Server", gold, peers, 0,
                                       QM_ERROR_INCOMPATIBLE);
    g_autoptr(GError) e2 = decide_fail("Cascadelake-Server", plat_local, peers2,
                                       0, QM_ERROR_INCOMPATIBLE);
    g_autoptr(GError) e3 = decide_fail("Icelake-Server", plat_local, peers2, 0,
                                       QM_ERROR_INCOMPATIBLE);

    assert_mentions(e1, "plat", "Cascadelake-Server", NULL);
    assert_mentions(e2, "local", "Cascadelake-Server", NULL);
    assert_mentions(e3, "Icelake-Server", NULL);
}

/**
 * test_named_deprecated() - a deprecated local model gives a warning
 */
static void test_named_deprecated(void)
{
    static const char *const f[] = {"fpu", "sse2", NULL};
    static const char *const none[] = {NULL};
    g_autoptr(QmProfile) local = synth_profile("local", "GenuineIntel", f);
    g_autoptr(QmProfile) peer = synth_profile("b", "GenuineIntel", f);
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d = NULL;
    gboolean warned = FALSE;

    synth_model(local, "Old-Model", none, FALSE, TRUE);
    synth_model(peer, "Old-Model", none, FALSE, FALSE);
    d = decide_ok("Old-Model", local, peers, 0);
    for (guint i = 0; i < d->warnings->len; i++)
        warned |=
            strstr(g_ptr_array_index(d->warnings, i), "Old-Model") != NULL;
    g_assert_true(warned);
    g_assert_null(d->cpu_value);
}

/**
 * test_named_determinism() - peer order does not change a named value
 */
static void test_named_determinism(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) b = load_profile(I78700, "b");
    g_autoptr(QmProfile) c = load_profile("x86_64-cpuid-Atom-P5362.json", "c");
    g_autoptr(GPtrArray) o1 = peers_of(b, c, NULL);
    g_autoptr(GPtrArray) o2 = peers_of(c, b, NULL);
    g_autoptr(QmDecision) d1 = decide_ok("Skylake-Server", local, o1, 0);
    g_autoptr(QmDecision) d2 = decide_ok("Skylake-Server", local, o2, 0);
    const QmHidden *f = NULL;

    g_assert_nonnull(d1->cpu_value);
    g_assert_cmpstr(d1->cpu_value, ==, d2->cpu_value);
    /* avx512f is unavailable on both peers, listed once with both */
    f = hidden_find(d1, "avx512f");
    g_assert_nonnull(f);
    g_assert_cmpuint(f->lacking->len, ==, 2);
    g_assert_true(lacking_has(f, "b") && lacking_has(f, "c"));
}

/* ---- no -cpu -------------------------------------------------------- */

/**
 * test_default_recorded() - qemu64 works everywhere on recorded hosts
 */
static void test_default_recorded(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) b = load_profile(I78700, "b");
    g_autoptr(QmProfile) c = load_profile(PLAT8268, "c");
    g_autoptr(GPtrArray) peers = peers_of(b, c, NULL);
    g_autoptr(QmDecision) d = decide_ok(NULL, local, peers, 0);
    g_autoptr(GHashTable) raw =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    /* premise: qemu64's unavailable lists are empty in these captures */
    g_assert_true(raw_unavailable(GOLD6130, "qemu64", raw));
    g_assert_true(raw_unavailable(I78700, "qemu64", raw));
    g_assert_true(raw_unavailable(PLAT8268, "qemu64", raw));
    g_assert_cmpuint(g_hash_table_size(raw), ==, 0);

    g_assert_cmpstr(d->mode, ==, "default");
    g_assert_cmpstr(d->model, ==, "qemu64");
    g_assert_cmpuint(d->hidden->len, ==, 0);
    g_assert_null(d->cpu_value);
    g_assert_false(d->add_cpu);
}

/**
 * test_default_synthetic() - something hidden: -cpu must be added
 */
static void test_default_synthetic(void)
{
    static const char *const f[] = {"fpu", "sse2", "svm", "lahf-lm", NULL};
    static const char *const none[] = {NULL};
    static const char *const lacks[] = {"lahf-lm", "svm", NULL};
    g_autoptr(QmProfile) local = synth_profile("local", "AuthenticAMD", f);
    g_autoptr(QmProfile) peer = synth_profile("b", "AuthenticAMD", f);
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d = NULL;
    g_autoptr(QmDecision) named = NULL;

    synth_model(local, "qemu64", none, FALSE, FALSE);
    synth_model(peer, "qemu64", lacks, FALSE, FALSE);
    d = decide_ok(NULL, local, peers, 0);
    g_assert_cmpstr(d->mode, ==, "default");
    g_assert_cmpstr(d->model, ==, "qemu64");
    g_assert_cmpstr(d->cpu_value, ==, "qemu64,lahf-lm=off,svm=off");
    g_assert_true(d->add_cpu);

    /* the same model written explicitly is "named" and not added */
    named = decide_ok("qemu64", local, peers, 0);
    g_assert_cmpstr(named->mode, ==, "named");
    g_assert_cmpstr(named->cpu_value, ==, d->cpu_value);
    g_assert_false(named->add_cpu);
}

/**
 * test_bad_value() - a -cpu value without a model is a usage error
 */
static void test_bad_value(void)
{
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(GOLD6130, "b");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(GError) e1 = decide_fail("", local, peers, 0, QM_ERROR_USAGE);
    g_autoptr(GError) e2 =
        decide_fail(",+pcid", local, peers, 0, QM_ERROR_USAGE);

    assert_mentions(e1, "-cpu", NULL);
    assert_mentions(e2, "-cpu", ",+pcid", NULL);
}

/**
 * test_value_prefix_kept() - the user's value is kept byte for byte
 */
static void test_value_prefix_kept(void)
{
    static const char *const value = "host,model-id=a b,+pcid,level=0x1f";
    g_autoptr(QmProfile) local = load_profile(GOLD6130, "local");
    g_autoptr(QmProfile) peer = load_profile(I78700, "desk");
    g_autoptr(GPtrArray) peers = peers_of(peer, NULL);
    g_autoptr(QmDecision) d = decide_ok(value, local, peers, 0);
    g_autoptr(GList) want = expected_host_hidden(local, peers);
    g_autofree char *expect = expected_value(value, want, NULL);

    g_assert_cmpstr(d->cpu_value, ==, expect);
}

/* ---- libvirt baseline anchor ---------------------------------------- */

typedef struct {
    const char *xml;
    const char *a;
    const char *b;
} Anchor;

static const Anchor anchors[] = {
    {"x86_64-cpuid-baseline-Cascadelake+Skylake-IBRS.xml", PLAT8268, GOLD6130},
    {"x86_64-cpuid-baseline-Cooperlake+Icelake.xml", COOPER, ICELAKE},
    {"x86_64-cpuid-baseline-EPYC+Rome.xml", EPYC7601, EPYC7502},
};

/**
 * xml_features() - feature names with a given policy in a libvirt CPU XML
 * @xml:    document text
 * @policy: "require" or "disable"
 *
 * Return: new array of canonical names
 */
static GPtrArray *xml_features(const char *xml, const char *policy)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *needle =
        g_strdup_printf("<feature policy='%s' name='", policy);
    const char *p = xml;

    while ((p = strstr(p, needle)) != NULL) {
        const char *start = p + strlen(needle);
        const char *end = strchr(start, '\'');
        g_autofree char *name = g_strndup(start, end - start);
        char *canon = qm_feature_canon(name);

        g_assert_nonnull(canon);
        g_ptr_array_add(out, canon);
        p = end;
    }
    return out;
}

/**
 * test_anchor() - -cpu host on either side never exceeds either host
 * @data: Anchor
 */
static void test_anchor(gconstpointer data)
{
    const Anchor *c = data;
    g_autofree char *xml = qm_test_read_data(c->xml, NULL);
    g_autoptr(GPtrArray) require = xml_features(xml, "require");
    g_autoptr(GPtrArray) disable = xml_features(xml, "disable");
    g_autoptr(QmProfile) a = load_profile(c->a, "A");
    g_autoptr(QmProfile) b = load_profile(c->b, "B");
    const QmProfile *sides[2][2] = {{a, b}, {b, a}};
    guint guest_count[2];

    g_assert_cmpstr(a->vendor, ==, b->vendor);
    for (int s = 0; s < 2; s++) {
        const QmProfile *local = sides[s][0];
        const QmProfile *peer = sides[s][1];
        g_autoptr(GPtrArray) peers = peers_of((QmProfile *)peer, NULL);
        g_autoptr(QmDecision) d = decide_ok("host", local, peers, 0);
        g_autoptr(GHashTable) guest = g_hash_table_new(g_str_hash, g_str_equal);
        GHashTableIter iter;
        gpointer key;

        g_hash_table_iter_init(&iter, local->features);
        while (g_hash_table_iter_next(&iter, &key, NULL)) {
            if (hidden_find(d, key) == NULL)
                g_hash_table_add(guest, key);
        }
        /* no guest feature that either host lacks */
        g_hash_table_iter_init(&iter, guest);
        while (g_hash_table_iter_next(&iter, &key, NULL)) {
            g_assert_true(qm_featset_has(a->features, key));
            g_assert_true(qm_featset_has(b->features, key));
        }
        /* and nothing both have is lost */
        g_hash_table_iter_init(&iter, a->features);
        while (g_hash_table_iter_next(&iter, &key, NULL)) {
            if (qm_featset_has(b->features, key))
                g_assert_true(g_hash_table_contains(guest, key));
        }
        /* libvirt agrees on its explicit features */
        for (guint i = 0; i < require->len; i++)
            g_assert_true(
                g_hash_table_contains(guest, g_ptr_array_index(require, i)));
        for (guint i = 0; i < disable->len; i++)
            g_assert_false(
                g_hash_table_contains(guest, g_ptr_array_index(disable, i)));
        guest_count[s] = g_hash_table_size(guest);
    }
    g_assert_cmpuint(guest_count[0], ==, guest_count[1]);
    g_test_message("anchor %s: %s + %s: guest has %u features (host-model "
                   "%u / %u); libvirt baseline lists %u explicitly "
                   "(%u require, %u disable) on top of its model",
                   c->xml, c->a, c->b, guest_count[0],
                   g_hash_table_size(a->features),
                   g_hash_table_size(b->features), require->len + disable->len,
                   require->len, disable->len);
}

/**
 * keep_going() - add --keep-going to the test program's arguments
 * @argc: main()'s argc
 * @argv: main()'s argv; replaced by a new vector that lives until exit
 *
 * A test that fails in its subprocess (see isolated()) is recorded with
 * g_test_fail(); without --keep-going GLib would stop the whole program
 * there, hiding the results of every later test.
 */
static void keep_going(int *argc, char ***argv)
{
    static char keep[] = "--keep-going";
    char **out = g_new0(char *, *argc + 2);

    out[0] = (*argv)[0];
    out[1] = keep;
    for (int i = 1; i < *argc; i++)
        out[i + 1] = (*argv)[i];
    *argc += 1;
    *argv = out;
}

/**
 * main() - register and run the decide tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    keep_going(&argc, &argv);
    qm_test_init(&argc, &argv);

    for (gsize i = 0; i < G_N_ELEMENTS(host_pairs); i++) {
        g_autofree char *path = g_strdup_printf("/decide/host/pair/%zu-%s", i,
                                                host_pairs[i].local + 13);

        g_test_add_data_func(path, &host_pairs[i], test_host_pair);
    }
    g_test_add_func("/decide/host/known-facts", test_host_known_facts);
    g_test_add_func("/decide/host/no-peers", test_host_no_peers);
    g_test_add_func("/decide/host/identical", test_host_identical);
    g_test_add_func("/decide/host/user-off", test_host_user_off);
    g_test_add_func("/decide/host/user-off-alias", test_host_user_off_alias);
    g_test_add_func("/decide/host/user-on-lacking", test_host_user_on_lacking);
    g_test_add_func("/decide/host/user-mixed-forms",
                    test_host_user_mixed_forms);
    g_test_add_func("/decide/host/user-on-local-lacks",
                    test_host_user_on_local_lacks);
    g_test_add_func("/decide/host/user-on-alias", test_host_user_on_alias);
    g_test_add_func("/decide/host/user-on-shared", test_host_user_on_shared);
    g_test_add_func("/decide/host/options", test_host_options);
    g_test_add_func("/decide/host/options-identical",
                    test_host_options_identical);
    g_test_add_func("/decide/host/several-peers", test_host_several_peers);
    g_test_add_func("/decide/host/determinism", test_host_determinism);
    g_test_add_func("/decide/max", test_max);
    g_test_add_func("/decide/cross-vendor", test_cross_vendor);
    for (gsize i = 0; i < G_N_ELEMENTS(named_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/decide/named/%zu-%s", i, named_cases[i].model);

        g_test_add_data_func(path, &named_cases[i], test_named);
    }
    g_test_add_func("/decide/named/skylake-facts", test_named_skylake_facts);
    g_test_add_func("/decide/named/user-off", test_named_user_off);
    g_test_add_func("/decide/named/unknown", test_named_unknown);
    g_test_add_func("/decide/named/no-definitions", test_named_no_definitions);
    g_test_add_func("/decide/named/unnamed", test_named_unnamed);
    g_test_add_func("/decide/named/deprecated", test_named_deprecated);
    g_test_add_func("/decide/named/determinism", test_named_determinism);
    g_test_add_func("/decide/default/recorded", test_default_recorded);
    g_test_add_func("/decide/default/synthetic", test_default_synthetic);
    g_test_add_func("/decide/bad-value", test_bad_value);
    g_test_add_func("/decide/value-prefix-kept", test_value_prefix_kept);
    for (gsize i = 0; i < G_N_ELEMENTS(anchors); i++) {
        g_autofree char *path =
            g_strdup_printf("/decide/libvirt-anchor/%zu", i);

        g_test_add_data_func(path, &anchors[i], test_anchor);
    }
    return g_test_run();
}
