/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what explain and probe print.
 */
#pragma once

#include <glib.h>

#include "../cache/entry.h"
#include "decide.h"
#include "profile.h"

char *qm_report_explain_text(const QmProfile *local, GPtrArray *peers,
                             const char *cpu_original,
                             const QmDecision *decision, const char *line,
                             GHashTable *groups);
char *qm_report_explain_json(const QmProfile *local, GPtrArray *peers,
                             const char *cpu_original,
                             const QmDecision *decision, char *const *argv,
                             const char *line, GHashTable *groups);
char *qm_report_profiles_text(GPtrArray *profiles);
char *qm_report_profiles_json(GPtrArray *profiles);
char *qm_report_nothing(gboolean json, const char *why, char *const *argv);
char *qm_report_cache_list(const char *dir, GPtrArray *entries);
char *qm_report_probe_progress(guint done, guint total,
                               const char *const *waiting, double elapsed);
