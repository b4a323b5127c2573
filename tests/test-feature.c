/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: feature name canonicalisation, validation, classification.
 */
#include <string.h>

#include "testutil.h"
#include "wrapper/feature.h"

/* One spelling and the canonical name QEMU prints for it. */
typedef struct {
    const char *name;
    const char *canon;
} CanonCase;

static const CanonCase canon_cases[] = {
    /* '_' and '-' spellings of the same QOM property */
    {"sse4_1", "sse4.1"},
    {"sse4-1", "sse4.1"},
    {"sse4.1", "sse4.1"},
    {"sse4_2", "sse4.2"},
    {"sse4-2", "sse4.2"},
    {"sse4.2", "sse4.2"},
    /* legacy names that are not a plain respelling */
    {"sse3", "pni"},
    {"pni", "pni"},
    {"pclmuldq", "pclmulqdq"},
    {"pclmulqdq", "pclmulqdq"},
    {"xd", "nx"},
    {"nx", "nx"},
    {"ffxsr", "fxsr-opt"},
    {"fxsr_opt", "fxsr-opt"},
    {"fxsr-opt", "fxsr-opt"},
    {"i64", "lm"},
    {"lm", "lm"},
    {"lahf_lm", "lahf-lm"},
    {"lahf-lm", "lahf-lm"},
    {"kvm_pv_eoi", "kvm-pv-eoi"},
    {"kvm-pv-eoi", "kvm-pv-eoi"},
    {"ds_cpl", "ds-cpl"},
    {"ds-cpl", "ds-cpl"},
    {"tsc_adjust", "tsc-adjust"},
    {"nrip_save", "nrip-save"},
    /* already canonical, must not be touched */
    {"3dnowprefetch", "3dnowprefetch"},
    {"3dnow", "3dnow"},
    {"avx512-4vnniw", "avx512-4vnniw"},
    {"avx512-vpopcntdq", "avx512-vpopcntdq"},
    {"avx512f", "avx512f"},
    {"pcid", "pcid"},
    {"vmx-exit-nosave-debugctl", "vmx-exit-nosave-debugctl"},
    /* alias lookup happens after '_' -> '-', and only on whole names */
    {"sse3x", "sse3x"},
    {"xd_x", "xd-x"},
};

/**
 * test_canon() - every spelling maps to exactly the expected name
 * @data: CanonCase
 */
static void test_canon(gconstpointer data)
{
    const CanonCase *c = data;
    g_autofree char *canon = qm_feature_canon(c->name);

    g_assert_nonnull(canon);
    g_assert_cmpstr(canon, ==, c->canon);
    /* canonical output is itself canonical and valid */
    g_assert_true(qm_feature_name_valid(canon));
    g_assert_null(strchr(canon, '_'));
    {
        g_autofree char *again = qm_feature_canon(canon);

        g_assert_cmpstr(again, ==, canon);
    }
}

/**
 * test_canon_fresh_copy() - the result is a new allocation, not the input
 */
static void test_canon_fresh_copy(void)
{
    char name[] = "pcid";
    g_autofree char *canon = qm_feature_canon(name);

    g_assert_true(canon != name);
    name[0] = 'x';
    g_assert_cmpstr(canon, ==, "pcid");
}

/* Names that must never pass validation (or canonicalisation). */
static const char *const invalid_names[] = {
    "",         "Pcid",        "PCID",  "SSE4_1", "a b",  "a,b",
    "a=b",      "x;rm",        "$(id)", "a\tb",   "a\nb", "pcid\x7f",
    "\xff\xfe", "caf\xc3\xa9", "+pcid", "a/b",    "a'b",
};

/**
 * test_invalid() - rejected by qm_feature_name_valid() and qm_feature_canon()
 * @data: the name
 */
static void test_invalid(gconstpointer data)
{
    const char *name = data;
    g_autofree char *canon = qm_feature_canon(name);

    g_assert_false(qm_feature_name_valid(name));
    g_assert_null(canon);
}

/**
 * test_invalid_null() - NULL is rejected, not dereferenced
 */
static void test_invalid_null(void)
{
    g_assert_false(qm_feature_name_valid(NULL));
    g_assert_null(qm_feature_canon(NULL));
}

/**
 * test_length_limit() - 64 characters pass, 65 do not
 */
static void test_length_limit(void)
{
    g_autofree char *n64 = g_strnfill(64, 'a');
    g_autofree char *n65 = g_strnfill(65, 'a');
    g_autofree char *c64 = qm_feature_canon(n64);
    g_autofree char *c65 = qm_feature_canon(n65);
    g_autofree char *n200 = g_strnfill(200, 'b');

    g_assert_true(qm_feature_name_valid(n64));
    g_assert_cmpstr(c64, ==, n64);
    g_assert_false(qm_feature_name_valid(n65));
    g_assert_null(c65);
    g_assert_false(qm_feature_name_valid(n200));
}

/**
 * test_valid_charset() - each allowed character class passes on its own
 */
static void test_valid_charset(void)
{
    static const char *const ok[] = {
        "a", "z", "0", "9", ".", "_", "-", "a.b_c-d0", "3dnowext",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(ok); i++)
        g_assert_true(qm_feature_name_valid(ok[i]));
    /* every byte outside [a-z0-9._-] is refused */
    for (int b = 1; b < 256; b++) {
        char name[4] = {'a', (char)b, 'b', '\0'};
        gboolean expect = (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
                          b == '.' || b == '_' || b == '-';

        g_assert_cmpint(qm_feature_name_valid(name), ==, expect);
    }
}

/* A canonical property name and whether it is a setting, not a bit. */
typedef struct {
    const char *name;
    gboolean option;
} OptionCase;

static const OptionCase option_cases[] = {
    {"check", TRUE},
    {"enforce", TRUE},
    {"migratable", TRUE},
    {"pmu", TRUE},
    {"host-phys-bits", TRUE},
    {"l3-cache", TRUE},
    {"full-cpuid-auto-level", TRUE},
    {"kvm", TRUE},
    {"tcg-cpuid", TRUE},
    {"hv-relaxed", TRUE},
    {"hv-passthrough", TRUE},
    {"x-force-features", TRUE},
    {"x-intel-pt-auto-level", TRUE},
    {"pcid", FALSE},
    {"vmx", FALSE},
    {"svm", FALSE},
    {"kvm-pv-eoi", FALSE},
    {"kvmclock", FALSE},
    {"kvmclock-stable-bit", FALSE},
    {"kvm-asyncpf", FALSE},
    {"avx512f", FALSE},
    {"sse4.1", FALSE},
    {"hypervisor", FALSE},
    /* prefixes only count with their dash */
    {"hvx", FALSE},
    {"xsave", FALSE},
    {"x2apic", FALSE},
};

/**
 * test_option() - qm_feature_is_option() classification
 * @data: OptionCase
 */
static void test_option(gconstpointer data)
{
    const OptionCase *c = data;

    g_assert_cmpint(qm_feature_is_option(c->name), ==, c->option);
}

/**
 * set_of() - a feature set from a NULL-terminated list
 * @names: canonical names
 *
 * Return: new set
 */
static GHashTable *set_of(const char *const *names)
{
    GHashTable *set = qm_featset_new();

    for (gsize i = 0; names[i] != NULL; i++)
        qm_featset_add(set, names[i]);
    return set;
}

/**
 * test_orphans_chain() - QEMU's dependency table, chains included
 *
 * Without vmx, every vmx-* goes, down to the EPT capabilities two rows
 * further (vmx -> vmx-secondary-ctls -> vmx-ept -> vmx-ept-execonly);
 * without arch-capabilities, its MSR's bits go; what depends on nothing
 * off stays.
 */
static void test_orphans_chain(void)
{
    static const char *const names[] = {"lm",       "vmx-secondary-ctls",
                                        "vmx-ept",  "vmx-ept-execonly",
                                        "rdctl-no", "mds-no",
                                        "avx2",     "vmx-rdrand-exit",
                                        "pdcm",     "full-width-write",
                                        NULL};
    g_autoptr(GHashTable) on = set_of(names);
    g_autoptr(GHashTable) known = set_of(names);
    g_autoptr(GHashTable) removed =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    qm_featset_add(known, "vmx");
    qm_featset_add(known, "arch-capabilities");
    qm_featset_add(known, "rdrand");
    g_assert_cmpuint(qm_feature_drop_orphans(on, known, removed), ==, 6);
    g_assert_cmpstr(g_hash_table_lookup(removed, "vmx-secondary-ctls"), ==,
                    "vmx");
    g_assert_cmpstr(g_hash_table_lookup(removed, "vmx-ept"), ==,
                    "vmx-secondary-ctls");
    g_assert_cmpstr(g_hash_table_lookup(removed, "vmx-ept-execonly"), ==,
                    "vmx-ept");
    g_assert_cmpstr(g_hash_table_lookup(removed, "rdctl-no"), ==,
                    "arch-capabilities");
    g_assert_true(g_hash_table_contains(removed, "mds-no"));
    /* vmx-rdrand-exit needs vmx-secondary-ctls and rdrand: both off */
    g_assert_true(g_hash_table_contains(removed, "vmx-rdrand-exit"));
    g_assert_true(qm_featset_has(on, "avx2"));
    g_assert_true(qm_featset_has(on, "lm"));
    g_assert_true(qm_featset_has(on, "full-width-write"));
    g_assert_cmpstr(qm_feature_parent_off(on, known, "rdctl-no"), ==,
                    "arch-capabilities");
    g_assert_null(qm_feature_parent_off(on, known, "full-width-write"));
}

/**
 * test_orphans_any_parent() - avx10 stays while any vector width is on
 */
static void test_orphans_any_parent(void)
{
    static const char *const names[] = {"avx10", "avx10-128", "avx10-256",
                                        "avx10-512", NULL};
    g_autoptr(GHashTable) known = set_of(names);
    g_autoptr(GHashTable) on = set_of(names);
    g_autoptr(GHashTable) some = set_of(names);

    /* all on: nothing goes */
    g_assert_cmpuint(qm_feature_drop_orphans(on, known, NULL), ==, 0);
    /* no 128: 256 goes, then 512, then avx10 (no width left) */
    g_hash_table_remove(some, "avx10-128");
    g_assert_cmpuint(qm_feature_drop_orphans(some, known, NULL), ==, 3);
    g_assert_cmpuint(g_hash_table_size(some), ==, 0);
}

/**
 * test_orphans_unknown_parent() - a row whose parent the QEMU does not
 *                                 know is not that QEMU's row
 */
static void test_orphans_unknown_parent(void)
{
    static const char *const names[] = {"rdctl-no", "vmx-ept", NULL};
    g_autoptr(GHashTable) on = set_of(names);
    g_autoptr(GHashTable) known = set_of(names);

    g_assert_cmpuint(qm_feature_drop_orphans(on, known, NULL), ==, 0);
    g_assert_null(qm_feature_parent_off(on, known, "rdctl-no"));
}

/**
 * test_kvm_pv() - KVM's PV features, and only those
 */
static void test_kvm_pv(void)
{
    g_assert_true(qm_feature_is_kvm_pv("kvmclock"));
    g_assert_true(qm_feature_is_kvm_pv("kvm-pv-unhalt"));
    g_assert_true(qm_feature_is_kvm_pv("kvmclock-stable-bit"));
    g_assert_false(qm_feature_is_kvm_pv("kvm-hint-dedicated"));
    g_assert_false(qm_feature_is_kvm_pv("kvm"));
    g_assert_false(qm_feature_is_kvm_pv("avx2"));
}

/**
 * main() - register and run the feature tests
 * @argc: argument count
 * @argv: arguments
 *
 * Return: g_test_run()'s status
 */
int main(int argc, char **argv)
{
    qm_test_init(&argc, &argv);

    for (gsize i = 0; i < G_N_ELEMENTS(canon_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/feature/canon/%s", canon_cases[i].name);

        g_test_add_data_func(path, &canon_cases[i], test_canon);
    }
    g_test_add_func("/feature/canon/fresh-copy", test_canon_fresh_copy);
    for (gsize i = 0; i < G_N_ELEMENTS(invalid_names); i++) {
        g_autofree char *path = g_strdup_printf("/feature/invalid/%zu", i);

        g_test_add_data_func(path, invalid_names[i], test_invalid);
    }
    g_test_add_func("/feature/invalid/null", test_invalid_null);
    g_test_add_func("/feature/invalid/length", test_length_limit);
    g_test_add_func("/feature/valid/charset", test_valid_charset);
    g_test_add_func("/feature/orphans/chain", test_orphans_chain);
    g_test_add_func("/feature/orphans/any-parent", test_orphans_any_parent);
    g_test_add_func("/feature/orphans/unknown-parent",
                    test_orphans_unknown_parent);
    g_test_add_func("/feature/kvm-pv", test_kvm_pv);
    for (gsize i = 0; i < G_N_ELEMENTS(option_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/feature/option/%s", option_cases[i].name);

        g_test_add_data_func(path, &option_cases[i], test_option);
    }
    return g_test_run();
}
