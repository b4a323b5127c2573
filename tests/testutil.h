/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: common set-up.
 */
#pragma once

#include <glib.h>

void qm_test_init(int *argc, char ***argv);
const char *qm_test_tmpdir(void);
char *qm_test_data_path(const char *name);
const char *qm_test_env(const char *name);
char *qm_test_read_data(const char *name, gsize *len);
gboolean qm_test_isolated(void);
void qm_test_keep_going(int *argc, char ***argv);
guint qm_test_slow(void);
guint qm_test_count_fds(void);
int qm_test_cmp_strptr(gconstpointer a, gconstpointer b);
int qm_test_run_tty(const char *const *argv, const char *const *envp,
                    gint64 deadline, char **tty);
