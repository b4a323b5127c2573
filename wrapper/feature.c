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
