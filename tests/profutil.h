/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: profile builders shared by test-decide.c,
 * test-machine.c and test-accept.c.
 */
#pragma once

#include "wrapper/profile.h"

void qm_prof_add_machines(QmProfile *p, const char *const *list);
void qm_prof_add_real_machines(QmProfile *p);
QmProfile *qm_prof_load_capture(const char *file, const char *name);
