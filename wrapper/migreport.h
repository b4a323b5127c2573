/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: what qemu-mig migrate prints.
 */
#pragma once

#include <glib.h>

#include "migrate.h"

char *qm_migreport_progress_text(const QmMigrateProgress *p, const char *to);
char *qm_migreport_progress_json(const QmMigrateProgress *p);
char *qm_migreport_done_text(const QmMigrateReport *r, const char *to);
char *qm_migreport_done_json(const QmMigrateReport *r, const char *to);
char *qm_migreport_failed_json(const char *message, int status);
