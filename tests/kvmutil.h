/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: helpers shared by the kvm suite (test-kvm.c and
 * test-migrate.c): the real local QEMU and its restricted stand-in peer.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/**
 * QmKvmBit - CPUID location of a feature a test may hide
 * @name: QEMU feature name
 * @eax:  CPUID leaf
 * @ecx:  CPUID subleaf
 * @reg:  "EAX".."EDX"
 * @bit:  bit in @reg
 */
typedef struct {
    const char *name;
    guint32 eax;
    guint32 ecx;
    const char *reg;
    int bit;
} QmKvmBit;

extern const QmKvmBit qm_kvm_bits[];
extern const gsize qm_kvm_n_bits;

gsize qm_kvm_bit_index(const char *name);
guint64 qm_kvm_word_of(JsonArray *words, gint64 eax, gint64 ecx,
                       const char *reg, gboolean *found);
gboolean qm_kvm_feature_bit(JsonArray *words, const char *name);
int qm_kvm_spawn_capture(const char *const *argv, const char *input, char **out,
                         char **err);
char *qm_kvm_find_qemu(char **reason);
GPtrArray *qm_kvm_local_transcript(const char *qemu);
JsonObject *qm_kvm_reply_by_id(GPtrArray *docs, const char *id);
void qm_kvm_write_doc(JsonObject *obj, const char *path, gboolean append);
char *qm_kvm_write_restricted_capture(GPtrArray *docs, GPtrArray *hidden);
gboolean qm_kvm_build_guest(char **image, char **reason);
