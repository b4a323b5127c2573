/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: telling a changed file from an unchanged one without reading it.
 */
#pragma once

#include <glib.h>

GHashTable *qm_fileid_set_new(void);
void qm_fileid_add(GHashTable *set, const char *path);
void qm_fileid_add_file(GHashTable *set, const char *path);
void qm_fileid_add_lines(GHashTable *set, const char *lines);
char *qm_fileid_lines(GHashTable *set);
gboolean qm_fileid_unchanged(const char *lines);
char *qm_fileid_host(const char *qemu_path);
