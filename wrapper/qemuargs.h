/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: reading QEMU's command line without changing it, and the pure
 * rewrite of the effective -cpu value.
 */
#pragma once

#include <glib.h>

/**
 * QmCpuSpec - a parsed -cpu value
 * @model:    model name as written ("host", "EPYC", ...)
 * @settings: canonical feature name -> "on"/"off" for the user's boolean
 *            feature settings (+f, -f, f=on, f=off, bare f); last one wins
 * @props:    every other key=value the user wrote, key -> value
 */
typedef struct {
    char *model;
    GHashTable *settings;
    GHashTable *props;
} QmCpuSpec;

void qm_cpuspec_free(QmCpuSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmCpuSpec, qm_cpuspec_free)

gboolean qm_cpuspec_parse(const char *value, QmCpuSpec **spec, GError **error);

/**
 * QmArgEdit - one change to QEMU's argv
 * @index:  index of the option value to replace, or -1 to append
 * @option: option to append ("-cpu", "-machine") when @index is -1
 * @value:  new value, or NULL for no change
 */
typedef struct {
    int index;
    const char *option;
    const char *value;
} QmArgEdit;

int qm_qemuargs_find_cpu(int argc, char *const *argv);
int qm_qemuargs_find_last(int argc, char *const *argv,
                          const char *const *names);
GArray *qm_qemuargs_find_all(int argc, char *const *argv,
                             const char *const *names);
GArray *qm_qemuargs_find_options(int argc, char *const *argv,
                                 const char *const *names);
char **qm_qemuargs_edit(int argc, char *const *argv, const QmArgEdit *edits,
                        gsize n);
gboolean qm_qemuargs_is_query(int argc, char *const *argv);
char **qm_qemuargs_rewrite(int argc, char *const *argv, int cpu_index,
                           const char *cpu_value);

gboolean qm_qemuargs_is_known_option(const char *name);
