/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: SIGINT, SIGTERM and SIGHUP while hosts are being probed.
 */
#pragma once

#include <glib.h>

void qm_interrupt_catch(void);
gboolean qm_interrupt_pending(void);
int qm_interrupt_poll_ms(gint64 deadline);
gboolean qm_interrupt_check(const char *who, GError **error);
void qm_interrupt_release(void);
int qm_interrupt_take(void);
void qm_interrupt_put(int sig);
