/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: profile builders shared by test-decide.c and
 * test-machine.c.
 */
#pragma once

#include "wrapper/profile.h"

void qm_prof_add_machines(QmProfile *p, const char *const *list);
void qm_prof_add_real_machines(QmProfile *p);
