// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qemu-mig: remembered decisions.
 *
 * A warm launch used to read every host's profile (~100 KB of JSON each)
 * and decide again what it decided last time.  The decision depends on
 * nothing but the command line, a few environment variables, the files
 * the profiles and settings came from, the local host and the clock; so
 * it is remembered under a digest of the first two, next to what it was
 * made from, and holds while all of that is as it was:
 *
 *   decision-DIGEST.conf   [decision] format, inputs (verbatim, compared
 *                          in full), qemu, host (fingerprint), expires,
 *                          files (identity lines), cpu, machine
 *
 * A record is only a shortcut: one that is unreadable, of another format,
 * or whose every check does not pass is ignored, and the launch decides
 * as if it were absent (and replaces it).
 */
#include <string.h>
#include <unistd.h>

#include "fileid.h"
#include "recall.h"

/* version of the record: a reader ignores any other */
#define RECALL_FORMAT 1
#define RECALL_GROUP  "decision"

/*
 * What qemu-mig reads from its environment (config.c, sshconfig.c,
 * launch.c, cache.c): any of them changed is another launch.
 */
static const char *const recall_env[] = {
    "HOME",           "PATH",
    "SHELL",          "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME", "XDG_RUNTIME_DIR",
    "QEMU_MIG_PEERS", "QEMU_MIG_CACHE_DIR",
    "SSH_AUTH_SOCK",
};

/**
 * qm_recall_free() - free a QmRecall
 * @recall: record, or NULL
 */
void qm_recall_free(QmRecall *recall)
{
    if (recall == NULL)
        return;
    g_free(recall->qemu);
    g_free(recall->host);
    g_free(recall->files);
    g_free(recall->cpu);
    g_free(recall->machine);
    g_free(recall);
}

/**
 * append_word() - append "NAME=LEN:VALUE\n" (LEN makes any VALUE, with
 *                 newlines or "=" in it, unambiguous)
 * @out:   text
 * @name:  field name
 * @value: value, or NULL (written as "NAME=-\n")
 */
static void append_word(GString *out, const char *name, const char *value)
{
    if (value == NULL)
        g_string_append_printf(out, "%s=-\n", name);
    else
        g_string_append_printf(out, "%s=%zu:%s\n", name, strlen(value), value);
}

/**
 * qm_recall_inputs() - what a launch is, apart from the files it reads
 * @argc: argument count
 * @argv: qemu-mig's whole argument vector, argv[0] included (a drop-in's
 *        name makes it another launch)
 *
 * qemu-mig's version, the user, the working directory (relative paths),
 * every argument and the environment variables qemu-mig reads.
 *
 * Return: newly allocated text, to compare in full
 */
char *qm_recall_inputs(int argc, char *const *argv)
{
    GString *out = g_string_new(NULL);
    g_autofree char *cwd = g_get_current_dir();

    append_word(out, "version", QM_VERSION);
    g_string_append_printf(out, "uid=%u\n", (unsigned)getuid());
    append_word(out, "cwd", cwd);
    for (int i = 0; i < argc; i++)
        append_word(out, "arg", argv[i]);
    for (gsize i = 0; i < G_N_ELEMENTS(recall_env); i++) {
        g_autofree char *name = g_strdup_printf("env %s", recall_env[i]);

        append_word(out, name, g_getenv(recall_env[i]));
    }
    return g_string_free(out, FALSE);
}

/**
 * record_name() - the file a launch's decision is remembered in
 * @inputs: text from qm_recall_inputs()
 *
 * Return: newly allocated file name, no directory
 */
static char *record_name(const char *inputs)
{
    g_autofree char *sum =
        g_compute_checksum_for_string(G_CHECKSUM_SHA256, inputs, -1);

    sum[32] = '\0';
    return g_strdup_printf("decision-%s.conf", sum);
}

/**
 * get_optional() - a string that may be absent
 * @kf:  key file
 * @key: key in RECALL_GROUP
 *
 * Return: newly allocated value, or NULL when absent
 */
static char *get_optional(GKeyFile *kf, const char *key)
{
    return g_key_file_has_key(kf, RECALL_GROUP, key, NULL)
               ? g_key_file_get_string(kf, RECALL_GROUP, key, NULL)
               : NULL;
}

/**
 * qm_recall_lookup() - the decision remembered for a launch, if it holds
 * @cache:  cache
 * @inputs: text from qm_recall_inputs()
 * @qemu:   the local QEMU resolved now (absolute)
 * @recall: where to store the record
 *
 * Holds when it is of this format, for exactly these inputs and this
 * QEMU, not expired, the local host's fingerprint is the same, and every
 * file it was made from is unchanged.  Costs a small read, a stat() per
 * file and the fingerprint (a few KiB of /proc/cpuinfo).
 *
 * Return: TRUE when it holds
 */
gboolean qm_recall_lookup(QmCache *cache, const char *inputs, const char *qemu,
                          QmRecall **recall)
{
    g_autofree char *name = record_name(inputs);
    g_autofree char *text = NULL;
    g_autofree char *stored_inputs = NULL;
    g_autofree char *host = NULL;
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(QmRecall) r = g_new0(QmRecall, 1);
    g_autoptr(GError) error = NULL;

    if (!qm_cache_read_file(cache, name, &text, NULL) ||
        !g_key_file_load_from_data(kf, text, -1, G_KEY_FILE_NONE, NULL) ||
        g_key_file_get_integer(kf, RECALL_GROUP, "format", NULL) !=
            RECALL_FORMAT)
        return FALSE;
    stored_inputs = g_key_file_get_string(kf, RECALL_GROUP, "inputs", NULL);
    r->qemu = g_key_file_get_string(kf, RECALL_GROUP, "qemu", NULL);
    r->host = g_key_file_get_string(kf, RECALL_GROUP, "host", NULL);
    r->files = g_key_file_get_string(kf, RECALL_GROUP, "files", NULL);
    r->expires = g_key_file_get_int64(kf, RECALL_GROUP, "expires", &error);
    r->cpu = get_optional(kf, "cpu");
    r->machine = get_optional(kf, "machine");
    if (error != NULL)
        return FALSE;
    if (stored_inputs == NULL || strcmp(stored_inputs, inputs) != 0 ||
        r->qemu == NULL || strcmp(r->qemu, qemu) != 0 || r->host == NULL ||
        r->files == NULL)
        return FALSE;
    if (g_get_real_time() / G_USEC_PER_SEC >= r->expires)
        return FALSE;
    host = qm_fileid_host(qemu);
    if (strcmp(host, r->host) != 0 || !qm_fileid_unchanged(r->files))
        return FALSE;
    *recall = g_steal_pointer(&r);
    return TRUE;
}

/**
 * qm_recall_store() - remember a launch's decision
 * @cache:  cache
 * @inputs: text from qm_recall_inputs()
 * @recall: the decision and what it was made from
 * @error:  set with QM_ERROR_CACHE when it cannot be written
 *
 * Return: TRUE when stored
 */
gboolean qm_recall_store(QmCache *cache, const char *inputs,
                         const QmRecall *recall, GError **error)
{
    g_autofree char *name = record_name(inputs);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *text = NULL;

    g_key_file_set_integer(kf, RECALL_GROUP, "format", RECALL_FORMAT);
    g_key_file_set_string(kf, RECALL_GROUP, "inputs", inputs);
    g_key_file_set_string(kf, RECALL_GROUP, "qemu", recall->qemu);
    g_key_file_set_string(kf, RECALL_GROUP, "host", recall->host);
    g_key_file_set_int64(kf, RECALL_GROUP, "expires", recall->expires);
    g_key_file_set_string(kf, RECALL_GROUP, "files", recall->files);
    if (recall->cpu != NULL)
        g_key_file_set_string(kf, RECALL_GROUP, "cpu", recall->cpu);
    if (recall->machine != NULL)
        g_key_file_set_string(kf, RECALL_GROUP, "machine", recall->machine);
    text = g_key_file_to_data(kf, NULL, NULL);
    return qm_cache_write_file(cache, name, text, error);
}

/**
 * qm_recall_forget_all() - remove every remembered decision
 * @cache: cache
 * @error: set with QM_ERROR_CACHE when one cannot be removed
 *
 * For `cache clear`: a record whose entries are gone would not hold
 * anyway; it is not left behind either.
 *
 * Return: TRUE on success
 */
gboolean qm_recall_forget_all(QmCache *cache, GError **error)
{
    g_autoptr(GDir) dir = g_dir_open(qm_cache_dir(cache), 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_prefix(name, "decision-") &&
            g_str_has_suffix(name, ".conf") &&
            !qm_cache_remove_file(cache, name, error))
            return FALSE;
    }
    return TRUE;
}
