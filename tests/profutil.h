/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: profile builders shared by test-decide.c,
 * test-machine.c and test-accept.c.
 */
#pragma once

#include "wrapper/profile.h"

void qm_prof_add_machines(QmProfile *p, const char *const *list);
void qm_prof_add_real_machines(QmProfile *p);
QmProfile *qm_prof_load_capture(const char *file, const char *name);

/**
 * QmProfCapture - a recorded CPU in tests/data
 * @file:        capture file name
 * @vendor:      its CPUID vendor
 * @definitions: it holds query-cpu-definitions (named models, -cpu auto)
 */
typedef struct {
    const char *file;
    const char *vendor;
    gboolean definitions;
} QmProfCapture;

/* Every capture with a full host-model expansion; ends with a NULL file */
extern const QmProfCapture qm_prof_captures[];
