/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig tests: helpers shared by the tests that run the real qemu-mig
 * binary (test-cache.c, test-cli-e2e.c, test-faults.c).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/**
 * QmRun - what one qemu-mig run did
 * @status:  exit status, or 128+signal
 * @out:     stdout
 * @out_len: its length
 * @err:     stderr
 * @seconds: wall-clock duration
 */
typedef struct {
    int status;
    char *out;
    gsize out_len;
    char *err;
    double seconds;
} QmRun;

void qm_run_free(QmRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmRun, qm_run_free)

/**
 * QmRunCpuFacts - what a capture says, parsed independently of qemu-mig's
 * code
 * @features: canonical features the host model enables
 * @known:    canonical features the capture's QEMU knows (on or off)
 * @family, @model, @stepping, @model_id, @vendor: signature
 * @props:    the expansion's other property names (level, lmce, ...)
 * @values:   integer and boolean (0/1) values of @props, by name
 */
typedef struct {
    GHashTable *features;
    GHashTable *known;
    gint64 family, model, stepping;
    char *model_id;
    char *vendor;
    GHashTable *props;
    GHashTable *values;
} QmRunCpuFacts;

gint64 qm_run_fact(const QmRunCpuFacts *f, const char *prop);

void qm_run_cpu_facts_free(QmRunCpuFacts *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmRunCpuFacts, qm_run_cpu_facts_free)

char *qm_run_capture(const char *name);
QmRunCpuFacts *qm_run_load_facts(const char *cpu);
char *qm_run_unhex(const char *hex);
GPtrArray *qm_run_eval_line(const char *line);
guint qm_run_count_files(const char *dir);
JsonNode *qm_run_read_json(const char *path);
GPtrArray *qm_run_record_argv(JsonNode *record);
char *qm_run_take_registration(GPtrArray *argv);
