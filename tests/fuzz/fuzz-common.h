/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig fuzzing: helpers shared by the fuzz targets (fuzz-*.c) and by
 * tests/test-fuzz-regress.c, which includes the targets' sources to replay
 * tests/fuzz/regress/ without the fuzzer runtime.
 *
 * Every target defines one entry function, qm_fuzz_<target>(data, size),
 * and, unless QM_FUZZ_NO_LIBFUZZER is defined, libFuzzer's
 * LLVMFuzzerTestOneInput() calling it.  An invariant that does not hold
 * aborts (QM_FUZZ_CHECK), which both libFuzzer and the unit test report.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "wrapper/feature.h"
#include "wrapper/profile.h"

#define QM_FUZZ_CHECK(cond)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#ifndef QM_FUZZ_NO_LIBFUZZER
/**
 * qm_fuzz_log_handler() - abort() on a CRITICAL or WARNING, drop the rest
 * @domain:  log domain
 * @level:   level
 * @message: message
 * @data:    unused
 *
 * GLib's own fatal logging ends in G_BREAKPOINT (SIGTRAP), which libFuzzer
 * does not catch: abort() makes it a reported crash with a saved input.
 */
static void qm_fuzz_log_handler(const char *domain, GLogLevelFlags level,
                                const char *message, gpointer data)
{
    if (level &
        (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
        fprintf(stderr, "fuzz: fatal GLib log (%s): %s\n",
                domain ? domain : "-", message);
        abort();
    }
}

/**
 * qm_fuzz_log_writer() - the structured-logging counterpart
 * @level:    level
 * @fields:   fields
 * @n_fields: number of fields
 * @data:     unused
 *
 * Return: G_LOG_WRITER_HANDLED
 */
static GLogWriterOutput qm_fuzz_log_writer(GLogLevelFlags level,
                                           const GLogField *fields,
                                           gsize n_fields, gpointer data)
{
    const char *message = "";

    for (gsize i = 0; i < n_fields; i++) {
        if (strcmp(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
            message = fields[i].value;
    }
    qm_fuzz_log_handler(NULL, level, message, NULL);
    return G_LOG_WRITER_HANDLED;
}
#endif

/**
 * qm_fuzz_setup() - process-wide setup, idempotent
 *
 * A GLib CRITICAL or WARNING is an API misuse on untrusted input: it must
 * abort so the fuzzer reports it.  (Under tests/test-fuzz-regress.c,
 * g_test_init() already makes them fatal.)  Debug messages stay off.
 */
static inline void qm_fuzz_setup(void)
{
    static gboolean done;

    if (done)
        return;
    done = TRUE;
    g_unsetenv("G_MESSAGES_DEBUG");
    g_log_set_always_fatal(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL |
                           G_LOG_LEVEL_WARNING);
#ifndef QM_FUZZ_NO_LIBFUZZER
    g_log_set_default_handler(qm_fuzz_log_handler, NULL);
    g_log_set_writer_func(qm_fuzz_log_writer, NULL, NULL);
#endif
}

/**
 * qm_fuzz_name_safe() - may this CPU model / machine / vendor name reach
 * QEMU's command line?
 * @name: name
 *
 * The rule of qm_feature_model_name_valid(), written again on purpose: an
 * invariant checked with the function under test could not fail.
 *
 * Return: TRUE for 1-64 characters of [A-Za-z0-9._-]
 */
static inline gboolean qm_fuzz_name_safe(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 64)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            return FALSE;
    }
    return TRUE;
}

/**
 * qm_fuzz_featset_ok() - every member of a feature set is a valid,
 * canonical feature name
 * @set: set, or NULL
 */
static inline void qm_fuzz_featset_ok(QmFeatureSet *set)
{
    GHashTableIter iter;
    gpointer key;

    if (set == NULL)
        return;
    g_hash_table_iter_init(&iter, set);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        g_autofree char *canon = qm_feature_canon(key);

        QM_FUZZ_CHECK(qm_feature_name_valid(key));
        QM_FUZZ_CHECK(canon != NULL && strcmp(canon, key) == 0);
    }
}

/**
 * qm_fuzz_profile_ok() - the invariants of any profile made from
 * untrusted input: only names that cannot inject into -cpu / -machine
 * @p:          profile
 * @check_vendor: TRUE when the vendor must be a safe name (QMP replies)
 */
static inline void qm_fuzz_profile_ok(const QmProfile *p, gboolean check_vendor)
{
    QM_FUZZ_CHECK(p != NULL && p->name != NULL);
    QM_FUZZ_CHECK(p->features != NULL && p->known != NULL &&
                  p->unmigratable != NULL);
    qm_fuzz_featset_ok(p->features);
    qm_fuzz_featset_ok(p->known);
    qm_fuzz_featset_ok(p->unmigratable);
    if (check_vendor)
        QM_FUZZ_CHECK(qm_fuzz_name_safe(p->vendor));
    else
        QM_FUZZ_CHECK(p->vendor != NULL);
    for (guint i = 0; p->cpu_models && i < p->cpu_models->len; i++) {
        const QmCpuModel *m = g_ptr_array_index(p->cpu_models, i);

        QM_FUZZ_CHECK(qm_fuzz_name_safe(m->name));
        QM_FUZZ_CHECK(m->alias_of == NULL || qm_fuzz_name_safe(m->alias_of));
        QM_FUZZ_CHECK(m->unavailable != NULL);
        for (guint j = 0; j < m->unavailable->len; j++)
            QM_FUZZ_CHECK(
                qm_feature_name_valid(g_ptr_array_index(m->unavailable, j)));
        /* qm_profile_find_model() must cope with every name it holds */
        QM_FUZZ_CHECK(qm_profile_find_model(p, m->name) != NULL);
    }
    for (guint i = 0; p->machines && i < p->machines->len; i++) {
        const QmMachine *m = g_ptr_array_index(p->machines, i);

        QM_FUZZ_CHECK(qm_fuzz_name_safe(m->name));
        QM_FUZZ_CHECK(m->alias == NULL || qm_fuzz_name_safe(m->alias));
    }
}

/**
 * qm_fuzz_data_dir() - tests/data, for targets that need a real profile
 *
 * Return: $QM_TEST_DATA (set by meson test), else the path baked in at
 * build time
 */
static inline const char *qm_fuzz_data_dir(void)
{
    const char *dir = g_getenv("QM_TEST_DATA");

#ifdef QM_FUZZ_DATA_DIR
    if (dir == NULL || *dir == '\0')
        dir = QM_FUZZ_DATA_DIR;
#endif
    return dir;
}

/*
 * QM_FUZZ_ENTRY(fn) - libFuzzer's entry point, calling fn(data, size);
 * nothing when the target is built into tests/test-fuzz-regress.c.
 */
#ifndef QM_FUZZ_NO_LIBFUZZER
#define QM_FUZZ_ENTRY(fn)                                                      \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)               \
    {                                                                          \
        return fn(data, size);                                                 \
    }
#else
#define QM_FUZZ_ENTRY(fn)
#endif
