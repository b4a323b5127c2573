/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the data model every layer shares - a host profile (what one
 * host's QEMU/KVM can give a guest) and feature sets.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "featset.h"

/**
 * QmCpuModel - one entry of query-cpu-definitions
 * @name:            model name, e.g. "Skylake-Server-v4"
 * @alias_of:        versioned model this name resolves to, or NULL
 * @unavailable:     canonical features this host cannot give for the model,
 *                   sorted and without duplicates
 * @unnamed_unavailable: the reply listed "" among unavailable-features (old
 *                   QEMU could not name some bits); such a bit cannot be
 *                   turned off by name
 * @migration_safe:  QEMU's migration-safe flag
 * @deprecated:      QEMU's deprecated flag (FALSE when not reported)
 * @features:        canonical features the model has, from the local
 *                   QEMU's static expansion of it (qm_probe_local()); NULL
 *                   for an alias, a peer's model or when not known
 */
typedef struct {
    char *name;
    char *alias_of;
    GPtrArray *unavailable;
    gboolean unnamed_unavailable;
    gboolean migration_safe;
    gboolean deprecated;
    QmFeatureSet *features;
} QmCpuModel;

/**
 * QmMachine - one entry of query-machines
 * @name:        versioned or unversioned machine type name
 * @alias:       alias (e.g. "q35") when QEMU reports one, or NULL
 * @is_default:  TRUE for QEMU's default machine type
 * @default_cpu: the CPU model QEMU gives it without -cpu ("qemu64", "486"
 *               for isapc), from default-cpu-type; NULL when it has none
 *               or QEMU did not say
 */
typedef struct {
    char *name;
    char *alias;
    gboolean is_default;
    char *default_cpu;
} QmMachine;

/**
 * QmProfile - what one host's QEMU/KVM can give a guest
 * @name:           "local" or the destination as the user wrote it
 * @vendor:         CPUID vendor string (GenuineIntel, AuthenticAMD, ...)
 * @family, @model, @stepping: CPUID signature of the host-model CPU
 * @model_id:       CPUID brand string, verbatim (may have spaces around)
 * @features:       canonical CPUID features the host-model expansion enables
 * @known:          every canonical feature the host's QEMU knows (on or off)
 * @phys_bits:      host physical address width (0 when unknown)
 * @tsc_hz:         host TSC frequency KVM gives a vCPU (0 when unknown)
 * @unmigratable:   features the host has that QEMU will only give a guest
 *                  that cannot migrate (invtsc, ...)
 * @cpu_models:     QmCpuModel entries, NULL when query-cpu-definitions was
 *                  not answered
 * @machines:       QmMachine entries, NULL when query-machines was not
 *                  answered
 * @qemu_version:   "major.minor.micro", or NULL
 * @qemu_package:   QEMU's package string (may be empty), or NULL
 * @kvm:            TRUE when the probe ran QEMU with a working KVM
 * @probe_method:   how the profile was made: "local-qmp", "ssh-qmp", "replay"
 * @probed_at:      wall-clock time of the probe, seconds since the epoch
 * @cpu_brand:      local host only: libcpuid's brand string, or NULL
 * @source:         where this launch got the profile: "probe", "cache" or
 *                  "stale cache" (not stored; NULL when unknown)
 * @cpuid_level, @cpuid_xlevel, @cpuid_xlevel2, @cpuid_level_func7:
 *                  the host model's highest basic, extended and Centaur
 *                  CPUID leaf and leaf 7 subleaf, which KVM's host model
 *                  takes from the host (-1 when unknown)
 * @lmce:           1 when the host model has LMCE (KVM's MCE capability),
 *                  0 when not, -1 when the host's QEMU has no lmce property
 * @avx10_version:  the host model's AVX10 version (-1 when QEMU lacks it)
 * @guest_phys_bits: the probe vCPU's guest-phys-bits, which QEMU 9.1+
 *                  takes from KVM (-1 when QEMU lacks it or could not tell)
 * @props:          every CPU property of the host model that is not a
 *                  CPUID feature (level, lmce, ucode-rev, pmu, ...), as a
 *                  set of canonical names: what the host's QEMU can be told
 */
typedef struct {
    char *name;
    char *vendor;
    gint64 family;
    gint64 model;
    gint64 stepping;
    char *model_id;
    QmFeatureSet *features;
    QmFeatureSet *known;
    gint64 phys_bits;
    gint64 tsc_hz;
    QmFeatureSet *unmigratable;
    GPtrArray *cpu_models;
    GPtrArray *machines;
    char *qemu_version;
    char *qemu_package;
    gboolean kvm;
    char *probe_method;
    gint64 probed_at;
    char *cpu_brand;
    char *source;
    gint64 cpuid_level;
    gint64 cpuid_xlevel;
    gint64 cpuid_xlevel2;
    gint64 cpuid_level_func7;
    gint64 lmce;
    gint64 avx10_version;
    gint64 guest_phys_bits;
    QmFeatureSet *props;
} QmProfile;

/**
 * QmProfileValue - a number of the host model that a host profile keeps
 * @prop:   QEMU's CPU property in query-cpu-model-expansion
 * @member: the member in the profile's JSON form
 * @offset: where it lives in QmProfile (a gint64, -1 when unknown)
 * @max:    the largest valid value (QEMU's property type)
 */
typedef struct {
    const char *prop;
    const char *member;
    gsize offset;
    gint64 max;
} QmProfileValue;

extern const QmProfileValue qm_profile_values[];
extern const gsize qm_profile_n_values;

QmProfile *qm_profile_new(const char *name);
void qm_profile_free(QmProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmProfile, qm_profile_free)

void qm_cpu_model_free(QmCpuModel *model);
void qm_machine_free(QmMachine *machine);

const QmCpuModel *qm_profile_find_model(const QmProfile *profile,
                                        const char *name);

char *qm_profile_age(const QmProfile *profile);

gsize qm_profile_json_scan(const char *text, gsize len, gboolean first_only,
                           gsize *closed_at, gsize *members);
gboolean qm_profile_json_parse(const char *text, gsize len, JsonNode **root,
                               GError **error);
const char *qm_profile_json_string(JsonNode *node);
JsonObject *qm_profile_json_object(JsonObject *obj, const char *member);
gboolean qm_profile_json_int(JsonObject *obj, const char *member,
                             gint64 *value);
char *qm_profile_json_shown(const char *s);
void qm_profile_json_nullable_string(JsonBuilder *builder, const char *member,
                                     const char *value);
void qm_profile_json_strings(JsonBuilder *builder, const char *member,
                             GPtrArray *names);
JsonNode *qm_profile_to_json(const QmProfile *profile);
QmProfile *qm_profile_from_json(JsonNode *node, GError **error);
