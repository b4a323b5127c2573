/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: remembered decisions - the same launch, with nothing it
 * depended on changed, gets the same -cpu and -machine without a profile
 * being read.
 */
#pragma once

#include <glib.h>

#include "cache.h"

/**
 * QmRecall - one remembered decision
 * @qemu:    the local QEMU it was made for (absolute)
 * @host:    the local host's fingerprint then (qm_fileid_host())
 * @files:   identity lines (qm_fileid_lines()) of the files it was made
 *           from - cache entries, memos, config files and what they read -
 *           taken when they were read
 * @expires: wall-clock second from which it no longer holds (the first
 *           peer entry to age), G_MAXINT64 for never
 * @cpu:     the -cpu value written, or NULL when it was left alone
 * @machine: the -machine value written, or NULL when it was left alone
 */
typedef struct {
    char *qemu;
    char *host;
    char *files;
    gint64 expires;
    char *cpu;
    char *machine;
} QmRecall;

void qm_recall_free(QmRecall *recall);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmRecall, qm_recall_free)

char *qm_recall_inputs(int argc, char *const *argv);
gboolean qm_recall_lookup(QmCache *cache, const char *inputs, const char *qemu,
                          QmRecall **recall);
gboolean qm_recall_store(QmCache *cache, const char *inputs,
                         const QmRecall *recall, GError **error);
gboolean qm_recall_forget_all(QmCache *cache, GError **error);
