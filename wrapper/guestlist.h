/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the registered guests, read back (written by guests.c).
 */
#pragma once

#include <glib.h>

#include "guests.h"

gboolean qm_guestlist_list(const char *dir, GPtrArray **guests, guint *removed,
                           GError **error);
char *qm_guestlist_format(GPtrArray *guests, gboolean json);
gint64 qm_guestlist_socket_pid(const char *path);
