/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: CPU feature names - canonical spelling and classification.
 *
 * QEMU registers several QOM property names for one CPUID bit (sse4.1,
 * sse4-1, sse4_1) and a full expansion lists all of them.  Everything in
 * qemu-mig compares canonical names only: the spelling QEMU prints under
 * "Recognized CPUID flags" in `-cpu help`.
 */
#include <string.h>

#include "feature.h"

/*
 * Legacy names that are not a mere '_' -> '-' respelling.  From QEMU's
 * target/i386/cpu.c (x86_cpu_register_feature_bit_props() aliases).
 */
static const struct {
    const char *alias;
    const char *canon;
} feature_aliases[] = {
    {"sse3", "pni"},      {"pclmuldq", "pclmulqdq"},
    {"sse4-1", "sse4.1"}, {"sse4-2", "sse4.2"},
    {"xd", "nx"},         {"ffxsr", "fxsr-opt"},
    {"i64", "lm"},        {"ds_cpl", "ds-cpl"},
};

/*
 * Boolean CPU properties that are QEMU or KVM settings rather than CPUID
 * bits.  They appear in a full expansion but must never be "turned off" by
 * the intersection: `pmu`, `l3-cache` and friends change how QEMU builds
 * the CPU, not which bits the host can provide.  hv-* and x-* are handled
 * by prefix in qm_feature_is_option().
 */
static const char *const option_names[] = {
    "check",
    "cpuid-0xb",
    "enforce",
    "fill-mtrr-mask",
    "full-cpuid-auto-level",
    "host-cache-info",
    "host-phys-bits",
    "hotpluggable",
    "hotplugged",
    "kvm",
    "kvm-no-smi-migration",
    "kvm-pv-enforce-cpuid",
    "l3-cache",
    "legacy-cache",
    "legacy-multi-node",
    "lmce",
    "migratable",
    "pmu",
    "realized",
    "start-powered-off",
    "tcg-cpuid",
    "vmware-cpuid-freq",
    "xen-vapic",
};

/*
 * QEMU's feature_dependencies[] (target/i386/cpu.c): when no parent of a
 * row is on, QEMU turns every child off; a child the user asked for by
 * name is then "filtered", which enforce=on turns into a refusal to start
 * ("This feature depends on other features that were not requested").
 * So qemu-mig never writes a child "=on" without its parent.  Rows are
 * those of QEMU 10.0.2, a superset of 7.2's (7.2 lacks the fred, sgx,
 * avx10 and waitpkg rows and some children; a row naming features a
 * QEMU does not know cannot apply there).  "a|b|c" is QEMU's multi-bit
 * parent: the child stays only if one of them is on.  Table order
 * matters in QEMU (one pass, parents first); qm_feature_drop_orphans()
 * repeats until nothing changes, which gives the same result.
 */
static const struct {
    const char *parents;
    const char *children;
} feature_deps[] = {
    {"arch-capabilities",
     "rdctl-no ibrs-all rsba skip-l1dfl-vmentry ssb-no mds-no "
     "pschange-mc-no tsx-ctrl taa-no sbdr-ssdp-no fbsdp-no psdp-no "
     "fb-clear bhi-no pbrsb-no gds-no rfds-no rfds-clear"},
    {"core-capability", "split-lock-detect"},
    {"pdcm", "full-width-write"},
    {"vmx", "vmx-vintr-pending vmx-tsc-offset vmx-hlt-exit vmx-invlpg-exit "
            "vmx-mwait-exit vmx-rdpmc-exit vmx-rdtsc-exit "
            "vmx-cr3-load-noexit vmx-cr3-store-noexit vmx-cr8-load-exit "
            "vmx-cr8-store-exit vmx-flexpriority vmx-vnmi-pending "
            "vmx-movdr-exit vmx-io-exit vmx-io-bitmap vmx-mtf "
            "vmx-msr-bitmap vmx-monitor-exit vmx-pause-exit "
            "vmx-secondary-ctls"},
    {"vmx", "vmx-intr-exit vmx-nmi-exit vmx-vnmi vmx-preemption-timer "
            "vmx-posted-intr"},
    {"vmx", "vmx-exit-nosave-debugctl vmx-exit-load-perf-global-ctrl "
            "vmx-exit-ack-intr vmx-exit-save-pat vmx-exit-load-pat "
            "vmx-exit-save-efer vmx-exit-load-efer "
            "vmx-exit-save-preemption-timer vmx-exit-clear-bndcfgs "
            "vmx-exit-clear-rtit-ctl vmx-exit-load-pkrs "
            "vmx-exit-secondary-ctls"},
    {"vmx", "vmx-entry-noload-debugctl vmx-entry-ia32e-mode "
            "vmx-entry-load-perf-global-ctrl vmx-entry-load-pat "
            "vmx-entry-load-efer vmx-entry-load-bndcfgs "
            "vmx-entry-load-rtit-ctl vmx-entry-load-pkrs "
            "vmx-entry-load-fred"},
    {"vmx", "vmx-store-lma vmx-activity-hlt vmx-activity-shutdown "
            "vmx-activity-wait-sipi vmx-vmwrite-vmexit-fields "
            "vmx-zero-len-inject"},
    {"vmx", "vmx-ins-outs vmx-true-ctls vmx-any-errcode "
            "vmx-nested-exception"},
    {"lm", "vmx-entry-ia32e-mode"},
    {"vmx-secondary-ctls",
     "vmx-apicv-xapic vmx-ept vmx-desc-exit vmx-rdtscp-exit "
     "vmx-apicv-x2apic vmx-vpid vmx-wbinvd-exit "
     "vmx-unrestricted-guest vmx-apicv-register vmx-apicv-vid "
     "vmx-ple vmx-rdrand-exit vmx-invpcid-exit vmx-vmfunc "
     "vmx-shadow-vmcs vmx-encls-exit vmx-rdseed-exit vmx-pml "
     "vmx-xsaves vmx-tsc-scaling vmx-enable-user-wait-pause"},
    {"xsaves", "vmx-xsaves"},
    {"rdrand", "vmx-rdrand-exit"},
    {"invpcid", "vmx-invpcid-exit"},
    {"mpx", "vmx-exit-clear-bndcfgs"},
    {"mpx", "vmx-entry-load-bndcfgs"},
    {"rdseed", "vmx-rdseed-exit"},
    {"intel-pt", "intel-pt-lip"},
    {"rdtscp", "vmx-rdtscp-exit"},
    {"vmx-ept", "vmx-ept-execonly vmx-page-walk-4 vmx-page-walk-5 vmx-ept-2mb "
                "vmx-ept-1gb vmx-invept vmx-eptad vmx-ept-advanced-exitinfo "
                "vmx-invept-single-context vmx-invept-all-context"},
    {"vmx-ept", "vmx-unrestricted-guest"},
    {"vmx-vpid",
     "vmx-invvpid vmx-invvpid-single-addr vmx-invept-single-context "
     "vmx-invvpid-all-context vmx-invept-single-context-noglobals"},
    {"vmx-vmfunc", "vmx-eptp-switching"},
    {"svm", "npt lbrv svm-lock nrip-save tsc-scale vmcb-clean flushbyasid "
            "decodeassists pause-filter pfthreshold avic v-vmsave-vmload "
            "vgif vnmi svme-addr-chk"},
    {"waitpkg", "vmx-enable-user-wait-pause"},
    {"lm", "fred"},
    {"lkgs", "fred"},
    {"wrmsrns", "fred"},
    {"sgx", "sgxlc"},
    {"sgx", "sgx1 sgx2 sgx-edeccssa"},
    {"sgx", "sgx-exinfo"},
    {"sgx", "sgx-debug sgx-mode64 sgx-provisionkey sgx-tokenkey sgx-kss "
            "sgx-aex-notify"},
    {"avx10-128", "avx10-256"},
    {"avx10-256", "avx10-512"},
    {"avx10-128|avx10-256|avx10-512", "avx10"},
    {"avx10", "avx10-128 avx10-256 avx10-512"},
};

/**
 * any_parent_in() - is one of a row's parents in a set?
 * @set:     feature set
 * @parents: "a" or "a|b|c"
 *
 * Return: TRUE if some parent is in @set
 */
static gboolean any_parent_in(const QmFeatureSet *set, const char *parents)
{
    g_auto(GStrv) names = g_strsplit(parents, "|", -1);

    for (char **n = names; *n; n++) {
        if (qm_featset_has(set, *n))
            return TRUE;
    }
    return FALSE;
}

/**
 * orphans_of() - the children of a row, when QEMU would turn them off
 * @i:     row of feature_deps[]
 * @on:    features the guest is to get
 * @known: features the QEMU in question knows
 *
 * Return: new NULL-terminated children, or NULL when the row is not that
 * QEMU's or one of its parents is on
 */
static char **orphans_of(gsize i, const QmFeatureSet *on,
                         const QmFeatureSet *known)
{
    if (!any_parent_in(known, feature_deps[i].parents) ||
        any_parent_in(on, feature_deps[i].parents))
        return NULL;
    return g_strsplit(feature_deps[i].children, " ", -1);
}

/**
 * qm_feature_drop_orphans() - turn off what QEMU would turn off anyway
 * @on:      canonical features a guest is to get; children whose parents
 *           are all off are removed
 * @known:   the features the QEMU in question knows: a row none of whose
 *           parents it knows is not one of its rows
 * @removed: where to record child -> parent(s) (static strings) for each
 *           removed feature, or NULL
 *
 * Return: number of features removed
 */
guint qm_feature_drop_orphans(QmFeatureSet *on, const QmFeatureSet *known,
                              GHashTable *removed)
{
    guint dropped = 0;
    gboolean again = TRUE;

    while (again) {
        again = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(feature_deps); i++) {
            g_auto(GStrv) children = orphans_of(i, on, known);

            for (char **c = children; c != NULL && *c; c++) {
                if (!g_hash_table_remove(on, *c))
                    continue;
                if (removed != NULL)
                    g_hash_table_replace(removed, g_strdup(*c),
                                         (gpointer)feature_deps[i].parents);
                dropped++;
                again = TRUE;
            }
        }
    }
    return dropped;
}

/**
 * qm_feature_parent_off() - would QEMU turn this feature off for lack of
 *                           its parent?
 * @on:    canonical features the guest is to get
 * @known: the features the QEMU in question knows (see
 *         qm_feature_drop_orphans())
 * @name:  canonical feature name
 *
 * Return: the parent(s) that are off ("a" or "a|b|c", static), or NULL
 */
const char *qm_feature_parent_off(const QmFeatureSet *on,
                                  const QmFeatureSet *known, const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(feature_deps); i++) {
        g_auto(GStrv) children = orphans_of(i, on, known);

        if (children != NULL &&
            g_strv_contains((const char *const *)children, name))
            return feature_deps[i].parents;
    }
    return NULL;
}

/*
 * The KVM paravirtual features (CPUID 0x40000001 EAX, QEMU's FEAT_KVM):
 * QEMU clears the whole word when the guest is told it does not run on
 * KVM (-cpu ...,kvm=off) or does not run on KVM at all
 * (x86_cpu_expand_features()).  kvm-hint-dedicated is another word.
 */
static const char *const kvm_pv_names[] = {
    "kvmclock",        "kvm-nopiodelay",      "kvm-mmu",
    "kvm-asyncpf",     "kvm-steal-time",      "kvm-pv-eoi",
    "kvm-pv-unhalt",   "kvm-pv-tlb-flush",    "kvm-asyncpf-vmexit",
    "kvm-pv-ipi",      "kvm-poll-control",    "kvm-pv-sched-yield",
    "kvm-asyncpf-int", "kvm-msi-ext-dest-id", "kvmclock-stable-bit",
};

/**
 * qm_feature_is_kvm_pv() - is this one of KVM's paravirtual features?
 * @canon: canonical feature name
 *
 * Return: TRUE for a bit of CPUID 0x40000001 EAX
 */
gboolean qm_feature_is_kvm_pv(const char *canon)
{
    for (gsize i = 0; i < G_N_ELEMENTS(kvm_pv_names); i++) {
        if (strcmp(canon, kvm_pv_names[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

/**
 * qm_feature_name_valid() - may this name ever reach QEMU's command line?
 * @name: feature name, any spelling
 *
 * A peer's QMP reply is untrusted input that ends up inside a -cpu value;
 * a ',' or '=' there would inject options, so only [a-z0-9._-] passes.
 *
 * Return: TRUE for a non-empty name of lower-case letters, digits, '.',
 * '_' and '-'
 */
gboolean qm_feature_name_valid(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 64)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '.' &&
            *p != '_' && *p != '-')
            return FALSE;
    }
    return TRUE;
}

/**
 * qm_feature_canon() - canonical spelling of a feature name
 * @name: feature name as QEMU, a capture or the user spelled it
 *
 * Return: newly allocated canonical name, or NULL if @name is not valid
 * (see qm_feature_name_valid())
 */
char *qm_feature_canon(const char *name)
{
    g_autofree char *dashed = NULL;

    if (!qm_feature_name_valid(name))
        return NULL;

    dashed = g_strdup(name);
    g_strdelimit(dashed, "_", '-');
    for (gsize i = 0; i < G_N_ELEMENTS(feature_aliases); i++) {
        if (strcmp(dashed, feature_aliases[i].alias) == 0)
            return g_strdup(feature_aliases[i].canon);
    }
    return g_steal_pointer(&dashed);
}

/**
 * qm_feature_is_option() - is this boolean property a setting, not a bit?
 * @canon: canonical property name
 *
 * Return: TRUE for QEMU/KVM settings that the intersection must leave alone
 */
gboolean qm_feature_is_option(const char *canon)
{
    if (g_str_has_prefix(canon, "hv-") || g_str_has_prefix(canon, "x-"))
        return TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(option_names); i++) {
        if (strcmp(canon, option_names[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

/**
 * name_safe() - 1-64 characters of [A-Za-z0-9._-]
 * @name: name, or NULL
 *
 * Return: TRUE if so
 */
static gboolean name_safe(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 64)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            return FALSE;
    }
    return TRUE;
}

/**
 * qm_feature_model_name_valid() - may this CPU model, machine type or
 *                                 vendor name, and its alias, reach QEMU's
 *                                 command line?
 * @name:  name from a QMP reply or a cache file (untrusted either way)
 * @alias: the alias QEMU reports for it, or NULL for none
 *
 * A ',' or '=' would add QEMU options (",accel=tcg"), so only
 * [A-Za-z0-9._-] passes.
 *
 * Return: TRUE for 1-64 such characters in @name and (if any) @alias
 */
gboolean qm_feature_model_name_valid(const char *name, const char *alias)
{
    return name_safe(name) && (alias == NULL || name_safe(alias));
}
