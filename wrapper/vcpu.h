/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: a live vCPU's QOM properties, and the one comparison of two.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "monitor.h"

/**
 * QmVcpu - every QOM property of one live vCPU
 * @qemu_version: QEMU's version, from the monitor greeting
 * @qom_path:     the vCPU read (query-cpus-fast, cpu-index 0)
 * @values:       property name -> JsonNode (qom-get's return), owned
 * @types:        property name -> QOM type ("bool", "uint32",
 *                "X86CPUFeatureWordInfo", "child<apic>", ...) for every
 *                property qom-list showed, read or not
 * @unreadable:   property name -> QEMU's error for a qom-get that failed
 *                ("No crash occurred")
 *
 * A property of type child<...> or link<...> is an object, not a value:
 * it is in @types only.
 */
typedef struct {
    char *qemu_version;
    char *qom_path;
    GHashTable *values;
    GHashTable *types;
    GHashTable *unreadable;
} QmVcpu;

/**
 * QmVcpuDiff - one difference between two vCPUs
 * @name: the property, or for one CPUID feature word
 *        "feature-words CPUID[EAX=0x7,ECX=0x0].EBX"
 * @a:    side A's value as text (feature words: 0x%08x)
 * @b:    side B's value as text (feature words: 0x%08x, then the bits B
 *        has more, "+bitN", or fewer, "-bitN", than A)
 */
typedef struct {
    char *name;
    char *a;
    char *b;
} QmVcpuDiff;

/**
 * QmVcpuComparison - what qm_vcpu_compare() found, each list sorted
 * @differences: QmVcpuDiff
 * @only_a:      char *: properties only side A's QEMU has (no difference)
 * @only_b:      char *: properties only side B's QEMU has
 * @skipped:     char *: "name: reason" for every property both have but
 *               that was not compared
 * @compared:    number of properties compared
 */
typedef struct {
    GPtrArray *differences;
    GPtrArray *only_a;
    GPtrArray *only_b;
    GPtrArray *skipped;
    guint compared;
} QmVcpuComparison;

/**
 * QmVcpuCompareFlags - what qm_vcpu_compare() also compares
 * @QM_VCPU_COMPARE_TSC: tsc-frequency.  A migrated guest carries its TSC
 *                       frequency along, so after a migration both sides
 *                       must agree; before one, the destination shows its
 *                       own host's, which says nothing about the guest.
 */
typedef enum {
    QM_VCPU_COMPARE_TSC = 1 << 0,
} QmVcpuCompareFlags;

gboolean qm_vcpu_read(QmMonitor *mon, gint64 deadline, QmVcpu **vcpu,
                      GError **error);
QmVcpu *qm_vcpu_from_json(JsonNode *node, GError **error);
JsonNode *qm_vcpu_to_json(const QmVcpu *vcpu);
void qm_vcpu_free(QmVcpu *vcpu);

QmVcpuComparison *qm_vcpu_compare(const QmVcpu *a, const QmVcpu *b,
                                  unsigned flags);
void qm_vcpu_comparison_free(QmVcpuComparison *c);
char *qm_vcpu_comparison_describe(const QmVcpuComparison *c, const char *name_a,
                                  const char *name_b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmVcpu, qm_vcpu_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmVcpuComparison, qm_vcpu_comparison_free)
