/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the probe's QMP conversation - what is sent, and turning what
 * comes back into a host profile.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "profile.h"

/* A whole conversation larger than this is refused, not parsed. */
#define QM_QMP_MAX_REPLY (16 * 1024 * 1024)

/* What a peer's login shell may print before QEMU's greeting */
#define QM_QMP_MAX_NOISE (64 * 1024)

const char *qm_qmp_request(void);
const char *const *qm_qmp_probe_argv(void);
const char *const *qm_qmp_models_argv(void);
char *qm_qmp_models_request(const QmProfile *profile);
guint qm_qmp_models_from_transcript(QmProfile *profile, const char *buf,
                                    gsize len);

gsize qm_qmp_find_greeting(const char *buf, gsize len, char **noise);
gboolean qm_qmp_split(const char *buf, gsize len, GPtrArray **docs,
                      GError **error);
gboolean qm_qmp_parse_transcript(const char *host, const char *buf, gsize len,
                                 QmProfile **profile, GError **error);
gboolean qm_qmp_profile_from_replies(const char *host, GHashTable *replies,
                                     QmProfile **profile, GError **error);
