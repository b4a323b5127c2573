/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig fuzzing: the on-disk cache reader.
 *
 * One private cache directory per process (on /dev/shm when there is one,
 * so each input costs a tmpfs write, not a disk write).  Each input is
 * loaded through the real reader, qm_cache_load(), twice:
 *
 *   raw      the bytes are the entry file of a fixed key, as they would be
 *            on disk (record layout, format, key and checksum checks);
 *   wrapped  when the bytes hold no NUL, they are spliced in as the
 *            "profile" of an otherwise valid record whose checksum matches,
 *            so qm_profile_from_json() sees them past the checksum.
 *
 * then listed once with qm_cache_list() (the key-less parse).  Invariants:
 * a refused entry sets an error and yields no entry; a loaded entry has the
 * key asked for, and its profile holds only canonical, valid feature names
 * and CPU model / machine names of [A-Za-z0-9._-] (they reach -cpu and
 * -machine).
 */
#include "fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/entry.h"

#define CACHE_FUZZ_KEY "local /fuzz/qemu-system-x86_64"

static char *cache_fuzz_dir;
static char *cache_fuzz_file;
static QmCache *cache_fuzz_cache;

/**
 * cache_fuzz_rmdir() - remove a private cache directory (flat)
 * @path: directory
 */
static void cache_fuzz_rmdir(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *file = g_build_filename(path, name, NULL);

        unlink(file);
    }
    rmdir(path);
}

/**
 * cache_fuzz_cleanup() - remove this process's directory at exit
 */
static void cache_fuzz_cleanup(void)
{
    g_clear_pointer(&cache_fuzz_cache, qm_cache_free);
    if (cache_fuzz_dir != NULL)
        cache_fuzz_rmdir(cache_fuzz_dir);
}

/**
 * cache_fuzz_sweep() - remove directories of fuzz-cache processes gone
 * @base: where they are made
 *
 * libFuzzer leaves with _Exit() (time limit, crash), so atexit() alone
 * leaves the directory behind: the next run removes it.
 */
static void cache_fuzz_sweep(const char *base)
{
    g_autoptr(GDir) dir = g_dir_open(base, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        const char *digits = name + strlen("qm-fuzz-cache-");
        char *end = NULL;
        long pid;

        if (!g_str_has_prefix(name, "qm-fuzz-cache-"))
            continue;
        pid = strtol(digits, &end, 10);
        if (end == digits || *end != '\0' || pid <= 0 ||
            (kill((pid_t)pid, 0) != 0 && errno == ESRCH) || pid == getpid()) {
            g_autofree char *path = g_build_filename(base, name, NULL);

            cache_fuzz_rmdir(path);
        }
    }
}

/**
 * cache_fuzz_init() - the private cache directory, made once
 */
static void cache_fuzz_init(void)
{
    g_autofree char *sum = NULL;
    g_autoptr(GError) error = NULL;
    const char *base;

    if (cache_fuzz_cache != NULL)
        return;
    qm_fuzz_setup();
    base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) &&
                   access("/dev/shm", W_OK) == 0
               ? "/dev/shm"
               : g_get_tmp_dir();
    cache_fuzz_sweep(base);
    cache_fuzz_dir =
        g_strdup_printf("%s/qm-fuzz-cache-%ld", base, (long)getpid());
    if (mkdir(cache_fuzz_dir, 0700) != 0) {
        fprintf(stderr, "fuzz-cache: cannot create %s: %s\n", cache_fuzz_dir,
                g_strerror(errno));
        abort();
    }
    atexit(cache_fuzz_cleanup);
    cache_fuzz_cache = qm_cache_open(cache_fuzz_dir, &error);
    if (cache_fuzz_cache == NULL) {
        fprintf(stderr, "fuzz-cache: %s\n", error->message);
        abort();
    }
    /* the entry's file name, as cache.c's entry_name() makes it */
    sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, CACHE_FUZZ_KEY, -1);
    sum[32] = '\0';
    cache_fuzz_file = g_strdup_printf("%s/local-%s.json", cache_fuzz_dir, sum);
}

/**
 * cache_fuzz_write() - replace the entry file
 * @data: contents
 * @size: length
 */
static void cache_fuzz_write(const void *data, size_t size)
{
    int fd =
        open(cache_fuzz_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const char *p = data;

    QM_FUZZ_CHECK(fd >= 0);
    while (size > 0) {
        ssize_t w = write(fd, p, size);

        QM_FUZZ_CHECK(w > 0);
        p += w;
        size -= (size_t)w;
    }
    close(fd);
}

/**
 * cache_fuzz_load() - load the fixed key and check the result
 */
static void cache_fuzz_load(void)
{
    g_autoptr(QmCacheEntry) entry = NULL;
    g_autoptr(GError) error = NULL;

    if (qm_cache_load(cache_fuzz_cache, CACHE_FUZZ_KEY, &entry, &error)) {
        QM_FUZZ_CHECK(error == NULL);
        /* the file exists, so a hit: a clean miss is only for no file */
        QM_FUZZ_CHECK(entry != NULL);
        QM_FUZZ_CHECK(strcmp(entry->key, CACHE_FUZZ_KEY) == 0);
        QM_FUZZ_CHECK(entry->fingerprint != NULL);
        qm_fuzz_profile_ok(entry->profile, FALSE);
    } else {
        QM_FUZZ_CHECK(error != NULL && entry == NULL);
    }
}

/**
 * qm_fuzz_cache() - one input
 * @data: bytes
 * @size: length
 *
 * Return: 0
 */
static int qm_fuzz_cache(const uint8_t *data, size_t size)
{
    g_autoptr(GPtrArray) entries = NULL;
    g_autoptr(GError) error = NULL;

    cache_fuzz_init();

    cache_fuzz_write(data, size);
    cache_fuzz_load();

    if (memchr(data, '\0', size) == NULL) {
        g_autofree char *sum = g_compute_checksum_for_data(
            G_CHECKSUM_SHA256, (const guchar *)data, size);
        g_autoptr(GString) record = g_string_new(NULL);

        g_string_append_printf(record,
                               "{\"format\":2,\"key\":\"" CACHE_FUZZ_KEY
                               "\",\"stored-at\":1700000000,"
                               "\"fingerprint\":\"\",\"checksum\":\"%s\","
                               "\"profile\":",
                               sum);
        g_string_append_len(record, (const char *)data, (gssize)size);
        g_string_append(record, "}\n");
        cache_fuzz_write(record->str, record->len);
        cache_fuzz_load();
    }

    if (qm_cache_list(cache_fuzz_cache, &entries, &error)) {
        for (guint i = 0; i < entries->len; i++) {
            const QmCacheEntry *e = g_ptr_array_index(entries, i);

            QM_FUZZ_CHECK(e != NULL && e->key != NULL && e->profile != NULL);
            qm_fuzz_profile_ok(e->profile, FALSE);
        }
    } else {
        QM_FUZZ_CHECK(error != NULL);
    }
    return 0;
}

QM_FUZZ_ENTRY(qm_fuzz_cache)
