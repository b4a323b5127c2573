/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: pinning the CPU values QEMU would otherwise take from the host
 * it runs on.
 *
 * Under KVM, -cpu host copies much more than CPUID feature bits from the
 * host (target/i386/host-cpu.c, kvm/kvm-cpu.c): vendor, family, model,
 * stepping and brand string, the highest CPUID leaves KVM supports, LMCE,
 * the microcode revision, the physical address width and, since QEMU 9.1,
 * guest-phys-bits.  None of them is migrated with the guest: the
 * destination builds them again from its own host.  So every host must be
 * told the same value explicitly.  Named models take fewer values from the
 * host (the vendor, guest-phys-bits), and those are pinned when the hosts
 * differ.  Every rule here is symmetric - the same profiles give the same
 * values whichever host computes them - so both sides of a migration get
 * byte-identical -cpu values.  README.md has the whole audit, property by
 * property.  Pure: no I/O.
 */
#include <string.h>

#include "error.h"
#include "pin.h"

/*
 * QEMU's microcode revision for named models (x86_cpu_realizefn()), which
 * -cpu host replaces by the host's (kvm_cpu_realizefn()); the host's is
 * not migrated, so a guest would see it change.  Decimal: 0x01000065 and
 * 0x100000000.
 */
#define UCODE_REV_AMD   "16777317"
#define UCODE_REV_OTHER "4294967296"

/**
 * qm_pin_user_sets() - did the user's -cpu value set this property or
 *                      feature?
 * @spec: parsed -cpu value
 * @key:  property or canonical feature name
 *
 * Return: TRUE if so: the user's word then stands and qemu-mig adds none
 */
gboolean qm_pin_user_sets(const QmCpuSpec *spec, const char *key)
{
    return g_hash_table_contains(spec->props, key) ||
           g_hash_table_contains(spec->settings, key);
}

/**
 * qm_pin_add() - append ",key=value" with the reason for explain
 * @extra:    the suffix being built
 * @settings: reasons array
 * @key:      property
 * @value:    value
 * @why:      reason, for people
 */
void qm_pin_add(GString *extra, GPtrArray *settings, const char *key,
                const char *value, const char *why)
{
    g_string_append_printf(extra, ",%s=%s", key, value);
    g_ptr_array_add(settings, g_strdup_printf("%s=%s: %s", key, value, why));
}

/**
 * host_at() - one host of the request
 * @pin: request
 * @i:   index
 *
 * Return: the profile
 */
static const QmProfile *host_at(const QmPin *pin, guint i)
{
    return g_ptr_array_index(pin->hosts, i);
}

/**
 * local_knows() - can the QEMU this command is for be told @prop?
 * @pin:  request
 * @prop: CPU property name
 *
 * QEMU refuses a property it does not have, so a setting introduced by a
 * newer QEMU (level-func7, guest-phys-bits, avx10-version) is only
 * written for a QEMU that lists it in its host model.
 *
 * Return: TRUE if so
 */
static gboolean local_knows(const QmPin *pin, const char *prop)
{
    return qm_featset_has(host_at(pin, 0)->props, prop);
}

/**
 * add_int() - qm_pin_add() of a number
 * @extra:    suffix being built
 * @settings: reasons
 * @key:      property
 * @value:    value
 * @why:      reason
 */
static void add_int(GString *extra, GPtrArray *settings, const char *key,
                    gint64 value, const char *why)
{
    g_autofree char *text = g_strdup_printf("%" G_GINT64_FORMAT, value);

    qm_pin_add(extra, settings, key, text, why);
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
 * lowest_signature() - the host whose CPU signature a guest is given
 * @hosts: every host
 *
 * The lowest (family, model, stepping, model-id), i.e. normally the oldest
 * CPU: software that checks signatures then sees a CPU no newer than any
 * host.  Ties go to the first in order, which has the same signature.
 *
 * Return: the profile
 */
static const QmProfile *lowest_signature(GPtrArray *hosts)
{
    const QmProfile *pick = g_ptr_array_index(hosts, 0);

    for (guint i = 1; i < hosts->len; i++) {
        const QmProfile *h = g_ptr_array_index(hosts, i);

        if (cmp_signature(h, pick) < 0)
            pick = h;
    }
    return pick;
}

/**
 * qm_pin_guest_vendor() - the CPU vendor a guest is given
 * @hosts: every host
 *
 * The hosts' vendor; with --allow-cross-vendor and differing vendors, the
 * vendor of the host whose signature is written (see pin_identity()).
 *
 * Return: the vendor string (borrowed from a profile)
 */
const char *qm_pin_guest_vendor(GPtrArray *hosts)
{
    return lowest_signature(hosts)->vendor;
}

/**
 * vendors_differ() - do the hosts' CPU vendors differ?
 * @pin: request
 *
 * Return: TRUE if so (only possible with --allow-cross-vendor)
 */
static gboolean vendors_differ(const QmPin *pin)
{
    for (guint i = 1; i < pin->hosts->len; i++) {
        if (g_strcmp0(host_at(pin, i)->vendor, host_at(pin, 0)->vendor) != 0)
            return TRUE;
    }
    return FALSE;
}

/**
 * pin_identity() - one CPU signature for the guest on every host
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 *
 * -cpu host copies each host's vendor, family, model, stepping and
 * model-id (host_cpu_instance_init()): written always, so a guest cannot
 * see its CPU change under it, even on a host replaced since it was
 * probed.  A named model has its own signature, but under KVM takes the
 * host's vendor: written when the hosts' vendors differ, and always for
 * QEMU's generic models (-cpu auto's qemu64 and the like).
 */
static void pin_identity(const QmPin *pin, GString *extra, GPtrArray *settings)
{
    const QmCpuSpec *spec = pin->spec;
    const QmProfile *pick = lowest_signature(pin->hosts);
    g_autofree char *model_id = NULL;
    g_autofree char *why = NULL;

    if (pin->mode == QM_PIN_HOST) {
        why = g_strdup_printf("-cpu host copies the host's signature; %s's "
                              "(the lowest) on every host",
                              pick->name);
        /* QEMU splits -cpu at every comma: a brand string cannot hold one */
        model_id = g_strdelimit(g_strdup(pick->model_id ? pick->model_id : ""),
                                ",", ' ');
        if (!qm_pin_user_sets(spec, "family"))
            add_int(extra, settings, "family", pick->family, why);
        if (!qm_pin_user_sets(spec, "model"))
            add_int(extra, settings, "model", pick->model, why);
        if (!qm_pin_user_sets(spec, "stepping"))
            add_int(extra, settings, "stepping", pick->stepping, why);
        if (!qm_pin_user_sets(spec, "model-id"))
            qm_pin_add(extra, settings, "model-id", model_id, why);
    }
    if (qm_pin_user_sets(spec, "vendor") ||
        (pin->mode != QM_PIN_HOST && !pin->generic && !vendors_differ(pin)))
        return;
    qm_pin_add(extra, settings, "vendor", pick->vendor,
               vendors_differ(pin) ? "hosts differ in vendor "
                                     "(--allow-cross-vendor)"
               : pin->generic      ? "a generic model gets the hosts' vendor"
                                   : "-cpu host copies the host's vendor");
}

/**
 * min_value() - the smallest of a host-model number over every host
 * @pin:      request
 * @offset:   the gint64 member of QmProfile
 * @what:     its name, for the warning
 * @warnings: where a warning goes when a host does not know it
 * @value:    where to store the minimum
 *
 * Return: TRUE when every host knows the value
 */
static gboolean min_value(const QmPin *pin, gsize offset, const char *what,
                          GPtrArray *warnings, gint64 *value)
{
    *value = G_MAXINT64;
    for (guint i = 0; i < pin->hosts->len; i++) {
        gint64 v = G_STRUCT_MEMBER(gint64, host_at(pin, i), offset);

        if (v < 0) {
            g_ptr_array_add(warnings,
                            g_strdup_printf("%s: %s unknown (its QEMU does "
                                            "not report it); not pinned",
                                            host_at(pin, i)->name, what));
            return FALSE;
        }
        *value = MIN(*value, v);
    }
    return TRUE;
}

/**
 * pin_levels() - one set of highest CPUID leaves on every host
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 * @warnings: warnings
 *
 * -cpu host reports the highest basic, extended and Centaur leaves KVM
 * supports on the host (kvm_cpu_max_instance_init()), so a guest would
 * see leaves appear or vanish after a migration.  The smallest of the
 * hosts' is written: every feature all hosts share lives below each
 * host's own maximum, so nothing common is lost.  QEMU does not raise an
 * explicit level for features above it (x86_cpu_expand_features() only
 * raises the minimum), so the value is exactly what the guest sees.
 * level-func7 (leaf 7's highest subleaf) follows the features and the
 * QEMU version's rules, so it is pinned the same way.
 */
static void pin_levels(const QmPin *pin, GString *extra, GPtrArray *settings,
                       GPtrArray *warnings)
{
    static const struct {
        const char *prop;
        gsize offset;
    } levels[] = {
        {"level", G_STRUCT_OFFSET(QmProfile, cpuid_level)},
        {"xlevel", G_STRUCT_OFFSET(QmProfile, cpuid_xlevel)},
        {"xlevel2", G_STRUCT_OFFSET(QmProfile, cpuid_xlevel2)},
        {"level-func7", G_STRUCT_OFFSET(QmProfile, cpuid_level_func7)},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(levels); i++) {
        g_autofree char *what = g_strdup_printf("CPUID %s", levels[i].prop);
        gint64 value;

        if (qm_pin_user_sets(pin->spec, levels[i].prop) ||
            !local_knows(pin, levels[i].prop) ||
            !min_value(pin, levels[i].offset, what, warnings, &value))
            continue;
        add_int(extra, settings, levels[i].prop, value,
                "-cpu host copies the host KVM's highest CPUID leaf; the "
                "smallest of all hosts");
    }
}

/**
 * pin_pmu() - the same PMU view on every host
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 *
 * With -cpu host, KVM passes the host PMU's version, counters and widths
 * through (CPUID leaf 0xA), and no property narrows them; they follow the
 * CPU model, so hosts of different vendor, family or model would show the
 * guest a different PMU after migration.  Then the PMU is turned off.
 */
static void pin_pmu(const QmPin *pin, GString *extra, GPtrArray *settings)
{
    const QmProfile *first = host_at(pin, 0);

    if (qm_pin_user_sets(pin->spec, "pmu"))
        return;
    for (guint i = 1; i < pin->hosts->len; i++) {
        const QmProfile *h = host_at(pin, i);

        if (h->family != first->family || h->model != first->model ||
            g_strcmp0(h->vendor, first->vendor) != 0) {
            qm_pin_add(extra, settings, "pmu", "off",
                       "hosts' PMUs differ (family/model), and a guest's "
                       "PMU must not change on migration");
            return;
        }
    }
}

/**
 * pin_lmce() - LMCE on every host or on none
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 *
 * -cpu host turns lmce on exactly when the host's KVM supports LMCE; the
 * guest sees it in MCG_CAP, which KVM is never told again after a
 * migration.  On when every host's host model has it, else off (a host
 * whose QEMU has no lmce property cannot give it).  QEMU refuses to start
 * lmce=on on a host without it, so the value is checked there too.
 */
static void pin_lmce(const QmPin *pin, GString *extra, GPtrArray *settings)
{
    gboolean all = TRUE;

    if (qm_pin_user_sets(pin->spec, "lmce") || !local_knows(pin, "lmce"))
        return;
    for (guint i = 0; i < pin->hosts->len; i++)
        all &= host_at(pin, i)->lmce == 1;
    qm_pin_add(extra, settings, "lmce", all ? "on" : "off",
               all ? "every host's KVM has LMCE"
                   : "-cpu host copies the host KVM's LMCE, and some host "
                     "has none");
}

/**
 * pin_ucode() - one microcode revision on every host
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 *
 * -cpu host shows the guest the host's microcode revision (MSR 0x8B),
 * which is not migrated and changes with every microcode update; named
 * models get a constant.  The constant for the guest's vendor is written.
 */
static void pin_ucode(const QmPin *pin, GString *extra, GPtrArray *settings)
{
    const QmProfile *pick = lowest_signature(pin->hosts);

    if (qm_pin_user_sets(pin->spec, "ucode-rev") ||
        !local_knows(pin, "ucode-rev"))
        return;
    qm_pin_add(extra, settings, "ucode-rev",
               g_strcmp0(pick->vendor, "AuthenticAMD") == 0 ? UCODE_REV_AMD
                                                            : UCODE_REV_OTHER,
               "-cpu host copies the host's microcode revision; QEMU's "
               "constant for named models instead");
}

/**
 * pin_avx10() - one AVX10 version on every host
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 * @warnings: warnings
 *
 * QEMU 10.0 takes avx10-version from the host's CPUID leaf 0x24 when the
 * guest has avx10; the smallest of the hosts' is written (QEMU refuses a
 * higher one under enforce).
 */
static void pin_avx10(const QmPin *pin, GString *extra, GPtrArray *settings,
                      GPtrArray *warnings)
{
    gint64 value;

    if (pin->on == NULL || !qm_featset_has(pin->on, "avx10") ||
        qm_pin_user_sets(pin->spec, "avx10-version") ||
        !local_knows(pin, "avx10-version") ||
        !min_value(pin, G_STRUCT_OFFSET(QmProfile, avx10_version),
                   "avx10-version", warnings, &value))
        return;
    add_int(extra, settings, "avx10-version", value,
            "-cpu host copies the host's AVX10 version; the smallest of all "
            "hosts");
}

/**
 * host_widths() - the smallest and largest physical address width of all
 *                 hosts
 * @pin:      request
 * @warnings: gets a warning naming a host whose width is unknown
 * @min:      smallest
 * @max:      largest
 * @small:    a host with the smallest width
 *
 * Return: FALSE when some host's width is unknown
 */
static gboolean host_widths(const QmPin *pin, GPtrArray *warnings, gint64 *min,
                            gint64 *max, const QmProfile **small)
{
    *min = G_MAXINT64;
    *max = 0;
    for (guint i = 0; i < pin->hosts->len; i++) {
        const QmProfile *h = host_at(pin, i);

        if (h->phys_bits <= 0) {
            g_ptr_array_add(warnings,
                            g_strdup_printf("%s: physical address width "
                                            "unknown (QEMU could not tell); "
                                            "phys-bits not equalised",
                                            h->name));
            return FALSE;
        }
        if (h->phys_bits < *min)
            *small = h;
        *min = MIN(*min, h->phys_bits);
        *max = MAX(*max, h->phys_bits);
    }
    return TRUE;
}

/**
 * pin_phys_bits() - one physical address width for the guest
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 * @warnings: warnings
 * @width:    where to store the width the guest gets (0 when unknown)
 * @error:    set when the user's host-phys-bits=on gives the guest
 *            different widths on different hosts
 *
 * A guest that saw 46 bits on one host cannot run where only 39 exist,
 * and its memory map must not change.  -cpu host uses the host's width
 * (host-phys-bits): the smallest of all hosts' is written instead, capped
 * by the user's host-phys-bits-limit.  Named models default to 40 bits:
 * capped at the smallest host width when that is below.  The user's own
 * host-phys-bits=on stands only where it gives every host one width (the
 * limit counts); the user's phys-bits stands, with a warning when some
 * host has fewer bits.
 */
static gboolean pin_phys_bits(const QmPin *pin, GString *extra,
                              GPtrArray *settings, GPtrArray *warnings,
                              gint64 *width, GError **error)
{
    const QmCpuSpec *spec = pin->spec;
    const char *given = g_hash_table_lookup(spec->props, "phys-bits");
    const char *hpb = g_hash_table_lookup(spec->settings, "host-phys-bits");
    const char *limit_text =
        g_hash_table_lookup(spec->props, "host-phys-bits-limit");
    gint64 limit = limit_text ? g_ascii_strtoll(limit_text, NULL, 0) : 0;
    gint64 min, max, lo, hi;
    const QmProfile *small = NULL;
    g_autofree char *value = NULL;

    *width = pin->mode == QM_PIN_HOST ? 0 : 40;
    if (!host_widths(pin, warnings, &min, &max, &small)) {
        if (given != NULL)
            *width = g_ascii_strtoll(given, NULL, 10);
        return TRUE;
    }
    lo = limit > 0 ? MIN(min, limit) : min;
    hi = limit > 0 ? MIN(max, limit) : max;
    if (g_strcmp0(hpb, "on") == 0) {
        /* QEMU then ignores phys-bits and takes each host's own width */
        if (lo != hi) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "-cpu %s,host-phys-bits=on: the guest would see "
                        "%" G_GINT64_FORMAT " address bits on one host and "
                        "%" G_GINT64_FORMAT " on %s; drop it (qemu-mig "
                        "then writes phys-bits=%" G_GINT64_FORMAT
                        ") or set host-phys-bits-limit=%" G_GINT64_FORMAT,
                        spec->model, hi, lo, small->name, lo, lo);
            return FALSE;
        }
        *width = lo;
        return TRUE;
    }
    if (given != NULL) {
        *width = g_ascii_strtoll(given, NULL, 10);
        if (*width > min)
            g_ptr_array_add(
                warnings, g_strdup_printf(
                              "-cpu ...,phys-bits=%s: %s has %" G_GINT64_FORMAT
                              " bits; a guest using addresses above them "
                              "cannot run there",
                              given, small->name, min));
        return TRUE;
    }
    value = g_strdup_printf("%" G_GINT64_FORMAT, lo);
    if (pin->mode == QM_PIN_HOST && hpb == NULL) {
        qm_pin_add(extra, settings, "host-phys-bits", "off",
                   "-cpu host copies the host's physical address width");
        qm_pin_add(extra, settings, "phys-bits", value,
                   limit > 0 && limit < min
                       ? "your host-phys-bits-limit, below every host's width"
                       : "the smallest width of all hosts");
        *width = lo;
    } else if (lo < 40) {
        qm_pin_add(extra, settings, "phys-bits", value,
                   "a host has fewer than the model's 40 bits");
        *width = lo;
    }
    return TRUE;
}

/**
 * pin_guest_phys_bits() - one guest-phys-bits on every host
 * @pin:      request
 * @extra:    suffix being built
 * @settings: reasons
 * @warnings: warnings
 * @width:    the physical address width the guest gets (0 when unknown)
 *
 * QEMU 9.1+ reports KVM's guest physical address width in CPUID
 * 0x80000008 EAX[23:16] for every 64-bit model (kvm_set_guest_phys_bits());
 * an older QEMU reports 0 there, which guest-phys-bits=0 also gives.  The
 * smallest width of all hosts (0 when some host's QEMU is older), capped
 * at the guest's phys-bits as QEMU requires.  Always written for -cpu
 * host, for named models when the hosts differ.
 */
static void pin_guest_phys_bits(const QmPin *pin, GString *extra,
                                GPtrArray *settings, GPtrArray *warnings,
                                gint64 width)
{
    gint64 min = G_MAXINT64, max = 0;

    if (qm_pin_user_sets(pin->spec, "guest-phys-bits") ||
        !local_knows(pin, "guest-phys-bits"))
        return;
    for (guint i = 0; i < pin->hosts->len; i++) {
        const QmProfile *h = host_at(pin, i);
        gint64 v = h->guest_phys_bits;

        if (v < 0 && qm_featset_has(h->props, "guest-phys-bits")) {
            g_ptr_array_add(warnings,
                            g_strdup_printf("%s: guest-phys-bits unknown "
                                            "(QEMU could not tell); not "
                                            "pinned",
                                            h->name));
            return;
        }
        /* QEMU caps it at the guest's phys-bits itself */
        v = MAX(v, 0);
        if (width > 0)
            v = MIN(v, width);
        min = MIN(min, v);
        max = MAX(max, v);
    }
    if (pin->mode != QM_PIN_HOST && min == max)
        return;
    add_int(extra, settings, "guest-phys-bits", min,
            "QEMU takes the guest physical address width from the host's "
            "KVM; the smallest of all hosts (0 where a QEMU has none)");
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
 * pin_tsc() - a TSC frequency every host can serve, for invtsc
 * @pin:      request
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
static gboolean pin_tsc(const QmPin *pin, GString *extra, GPtrArray *settings,
                        GError **error)
{
    const QmCpuSpec *spec = pin->spec;
    GPtrArray *hosts = pin->hosts;
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
    qm_pin_add(extra, settings, "tsc-frequency", value,
               fixed_host ? "invtsc needs a fixed TSC frequency: the one of "
                            "the hosts that cannot scale"
                          : "invtsc needs a fixed TSC frequency: the lowest, "
                            "every host scales");
    return TRUE;
}

/**
 * qm_pin_check() - refuse settings that copy the host into the guest
 * @pin:   request
 * @error: set naming the setting
 *
 * These make a guest's CPU depend on the host it runs on in ways no
 * property can pin: hv-passthrough copies every Hyper-V leaf of the host
 * (and QEMU blocks migration with it), host-cache-info copies the host's
 * cache leaves, hv-no-nonarch-coresharing=auto the host's Hyper-V leaf,
 * migratable=off every bit of the host KVM has, unnamed ones included.
 * lmce=on is refused where a host's KVM has no LMCE (QEMU would refuse to
 * start there).  Only with peers: alone, the host is the host.
 *
 * Return: TRUE when none is asked for
 */
gboolean qm_pin_check(const QmPin *pin, GError **error)
{
    const QmCpuSpec *spec = pin->spec;
    const char *coresharing =
        g_hash_table_lookup(spec->props, "hv-no-nonarch-coresharing");
    const char *copied = NULL;

    if (pin->hosts->len < 2)
        return TRUE;
    if (g_strcmp0(g_hash_table_lookup(spec->settings, "hv-passthrough"),
                  "on") == 0)
        copied = "hv-passthrough (every Hyper-V leaf of the host; QEMU "
                 "also blocks migration with it)";
    else if (g_strcmp0(g_hash_table_lookup(spec->settings, "host-cache-info"),
                       "on") == 0)
        copied = "host-cache-info (the host's cache leaves)";
    else if (g_strcmp0(coresharing, "auto") == 0)
        copied = "hv-no-nonarch-coresharing=auto (the host's Hyper-V leaf)";
    else if (g_strcmp0(g_hash_table_lookup(spec->settings, "migratable"),
                       "off") == 0)
        copied = "migratable=off (every bit of the host, named or not, and "
                 "what QEMU will not migrate)";
    if (copied != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                    "-cpu %s: %s copies the host into the guest, which then "
                    "differs from host to host; name the values instead",
                    spec->model, copied);
        return FALSE;
    }
    if (g_strcmp0(g_hash_table_lookup(spec->settings, "lmce"), "on") != 0)
        return TRUE;
    for (guint i = 0; i < pin->hosts->len; i++) {
        if (host_at(pin, i)->lmce != 1) {
            g_set_error(error, QM_ERROR, QM_ERROR_INCOMPATIBLE,
                        "-cpu %s: lmce is requested on, but %s's KVM (or "
                        "QEMU) has no LMCE",
                        spec->model, host_at(pin, i)->name);
            return FALSE;
        }
    }
    return TRUE;
}

/*
 * QEMU's models without long mode (lm off in their full expansion, QEMU
 * 7.2 to 10.0), without their -vN suffix.
 */
static const char *const models_32bit[] = {
    "486",     "athlon",   "coreduo",  "kvm32",  "n270",
    "pentium", "pentium2", "pentium3", "qemu32", NULL,
};

/**
 * long_mode() - will the guest CPU have long mode (lm)?
 * @pin: request
 *
 * x86_cpu_realizefn() fixes a 32-bit CPU's physical address width (36
 * bits with PAE or PSE36, else 32) and refuses phys-bits for it: "phys-bits
 * is not user-configurable in 32 bit".  So the widths are only pinned for
 * a 64-bit guest CPU.
 *
 * Return: TRUE unless the user turned lm off, or the model has none
 */
static gboolean long_mode(const QmPin *pin)
{
    const char *lm = g_hash_table_lookup(pin->spec->settings, "lm");
    g_autofree char *base = NULL;
    const char *v;

    if (lm != NULL)
        return strcmp(lm, "on") == 0;
    /* -cpu host with peers lists every feature; a named model (auto's
     * too) keeps its own lm unless the user's value says otherwise */
    if (pin->mode == QM_PIN_HOST)
        return pin->on == NULL || qm_featset_has(pin->on, "lm");
    v = g_strrstr(pin->spec->model, "-v");
    base = v != NULL && v[2] != '\0' &&
                   strspn(v + 2, "0123456789") == strlen(v + 2)
               ? g_strndup(pin->spec->model, v - pin->spec->model)
               : g_strdup(pin->spec->model);
    return !g_strv_contains(models_32bit, base);
}

/**
 * qm_pin_values() - the values to write so every host gives the same CPU
 * @pin:      request
 * @extra:    suffix being built (",key=value" items are appended)
 * @settings: one reason per value, for explain
 * @warnings: warnings (a host that could not tell a value)
 * @error:    set when no value suits every host (TSC frequency)
 *
 * In this order: family, model, stepping, model-id, vendor, level,
 * xlevel, xlevel2, level-func7, pmu, lmce, ucode-rev, avx10-version,
 * host-phys-bits, phys-bits, guest-phys-bits, tsc-frequency.  A value the
 * user wrote is left as written.  Without peers only the TSC frequency
 * (for invtsc) is decided.
 *
 * Return: TRUE on success
 */
gboolean qm_pin_values(const QmPin *pin, GString *extra, GPtrArray *settings,
                       GPtrArray *warnings, GError **error)
{
    gint64 width = 0;

    if (pin->hosts->len > 1) {
        pin_identity(pin, extra, settings);
        if (pin->mode == QM_PIN_HOST) {
            pin_levels(pin, extra, settings, warnings);
            pin_pmu(pin, extra, settings);
            pin_lmce(pin, extra, settings);
            pin_ucode(pin, extra, settings);
            pin_avx10(pin, extra, settings, warnings);
        }
        if (long_mode(pin)) {
            if (!pin_phys_bits(pin, extra, settings, warnings, &width, error))
                return FALSE;
            pin_guest_phys_bits(pin, extra, settings, warnings, width);
        } else {
            g_ptr_array_add(settings,
                            g_strdup("no phys-bits: a 32-bit CPU reports 36 "
                                     "bits (32 without PAE) on every host, "
                                     "and QEMU refuses the setting"));
        }
    }
    return pin_tsc(pin, extra, settings, error);
}
