/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: the on-disk cache of host profiles.
 *
 * One JSON file per host, written atomically (temp file, fsync, rename,
 * fsync of the directory) and locked per entry with flock() on a sibling
 * ".lock" file, so N concurrent launches probe each host once.  Every file
 * is opened relative to a directory fd checked once (owner, not a
 * symlink), with O_NOFOLLOW and O_CLOEXEC: the cache is input like any
 * other and never followed anywhere or leaked into QEMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../wrapper/error.h"
#include "../wrapper/interrupt.h"
#include "cache.h"

/* A cache file larger than this is not a profile. */
#define CACHE_MAX_FILE (32 * 1024 * 1024)

struct QmCache {
    char *dir;
    int dirfd;
};

struct QmCacheLock {
    int fd;
};

/**
 * qm_cache_default_dir() - where the cache lives without --cache-dir
 *
 * Return: newly allocated path: $QEMU_MIG_CACHE_DIR, else
 * $XDG_CACHE_HOME/qemu-mig (GLib's user cache dir)
 */
char *qm_cache_default_dir(void)
{
    const char *env = g_getenv("QEMU_MIG_CACHE_DIR");

    if (env != NULL && *env != '\0')
        return g_strdup(env);
    return g_build_filename(g_get_user_cache_dir(), "qemu-mig", NULL);
}

/**
 * check_dir() - refuse a cache directory someone else could control
 * @dir:   path
 * @fd:    fd of the directory, opened O_NOFOLLOW
 * @error: set with QM_ERROR_CACHE
 *
 * Return: TRUE when it is a directory owned by us, now mode 0700
 */
static gboolean check_dir(const char *dir, int fd, GError **error)
{
    struct stat st;

    if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache directory %s is not a directory", dir);
        return FALSE;
    }
    if (st.st_uid != geteuid()) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache directory %s is owned by uid %u, not by you "
                    "(uid %u); refusing to use it",
                    dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return FALSE;
    }
    /* Ours, so tightening is safe; looser modes let others plant files. */
    if ((st.st_mode & 077) != 0)
        fchmod(fd, 0700);
    return TRUE;
}

/**
 * qm_cache_open() - open (creating if needed) the cache directory
 * @dir:   directory, or NULL for qm_cache_default_dir()
 * @error: set with QM_ERROR_CACHE when the path is a symlink, not a
 *         directory, or owned by someone else
 *
 * A directory that cannot be created (read-only file system) is not an
 * error: the cache then misses and every store fails, which callers turn
 * into a warning, and launches stay correct.
 *
 * Return: new cache, or NULL on error
 */
QmCache *qm_cache_open(const char *dir, GError **error)
{
    g_autofree char *path = dir ? g_strdup(dir) : qm_cache_default_dir();
    g_autofree char *parent = g_path_get_dirname(path);
    QmCache *cache;
    struct stat st;
    int fd, open_errno;

    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache directory %s is a symlink; refusing to follow it",
                    path);
        return NULL;
    }
    g_mkdir_with_parents(parent, 0700);
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        g_debug("cannot create cache directory %s: %s", path,
                g_strerror(errno));

    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    open_errno = errno;
    /* O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR, not ELOOP */
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) &&
        lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache directory %s is a symlink; refusing to follow it",
                    path);
        return NULL;
    }
    if (fd >= 0 && !check_dir(path, fd, error)) {
        close(fd);
        return NULL;
    }
    /* There but unusable: say why rather than run uncached in silence
     * (only a directory that cannot be created, on a read-only file
     * system, is an outage the launch goes on without) */
    if (fd < 0 && lstat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                        "cache directory %s is not a directory", path);
        else if (st.st_uid != geteuid())
            g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                        "cache directory %s is owned by uid %u, not by you "
                        "(uid %u); refusing to use it",
                        path, (unsigned)st.st_uid, (unsigned)geteuid());
        else
            g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                        "cache directory %s cannot be opened: %s", path,
                        g_strerror(open_errno));
        return NULL;
    }
    cache = g_new0(QmCache, 1);
    cache->dir = g_steal_pointer(&path);
    cache->dirfd = fd;
    return cache;
}

/**
 * qm_cache_free() - close the cache
 * @cache: cache, or NULL
 */
void qm_cache_free(QmCache *cache)
{
    if (cache == NULL)
        return;
    if (cache->dirfd >= 0)
        close(cache->dirfd);
    g_free(cache->dir);
    g_free(cache);
}

/**
 * qm_cache_dir() - the cache's directory
 * @cache: cache
 *
 * Return: path (borrowed)
 */
const char *qm_cache_dir(const QmCache *cache)
{
    return cache->dir;
}

/**
 * qm_cache_key_local() - cache key of the local host
 * @qemu_path: absolute path of the local QEMU
 *
 * Return: newly allocated key
 */
char *qm_cache_key_local(const char *qemu_path)
{
    return g_strdup_printf("local %s", qemu_path);
}

/**
 * qm_cache_key_peer() - cache key of a peer
 * @user:        user after ssh_config
 * @host:        host name or address after ssh_config (HostName)
 * @port:        port after ssh_config
 * @key_alias:   HostKeyAlias, or NULL
 * @route:       ProxyCommand (or ProxyJump) that reaches it, or NULL
 * @remote_qemu: QEMU command run there
 *
 * Keyed by what ssh_config resolves to, not by the alias typed, so two
 * aliases of one host share an entry and a re-pointed alias does not.
 * The route is part of it: 10.0.0.5 behind the jump host of site A is
 * not 10.0.0.5 behind that of site B.  So is HostKeyAlias, which says
 * whose host key is expected there: two names for one address that
 * expect different keys are two hosts (one port forwarded to several
 * machines in turn, say).
 *
 * Return: newly allocated key
 */
char *qm_cache_key_peer(const char *user, const char *host, int port,
                        const char *key_alias, const char *route,
                        const char *remote_qemu)
{
    g_autoptr(GString) key = g_string_new(NULL);

    g_string_printf(key, "peer %s@%s:%d", user, host, port);
    if (key_alias != NULL)
        g_string_append_printf(key, " as %s", key_alias);
    if (route != NULL)
        g_string_append_printf(key, " via %s;", route);
    g_string_append_printf(key, " %s", remote_qemu);
    return g_string_free(g_steal_pointer(&key), FALSE);
}

/**
 * qm_cache_file_name() - file name of a key's entry
 * @key:    cache key
 * @suffix: ".json" or ".lock"
 *
 * Return: newly allocated file name (no directory)
 */
char *qm_cache_file_name(const char *key, const char *suffix)
{
    g_autofree char *sum =
        g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);

    sum[32] = '\0';
    return g_strdup_printf("%s-%s%s",
                           g_str_has_prefix(key, "local ") ? "local" : "peer",
                           sum, suffix);
}

/**
 * qm_cache_entry_path() - the file a key's entry is (or would be) in
 * @cache: cache
 * @key:   cache key
 *
 * Return: newly allocated absolute path
 */
char *qm_cache_entry_path(const QmCache *cache, const char *key)
{
    g_autofree char *name = qm_cache_file_name(key, ".json");
    g_autofree char *path = g_build_filename(cache->dir, name, NULL);

    return g_canonicalize_filename(path, NULL);
}

/**
 * qm_cache_read_file() - read a cache file safely
 * @cache: cache
 * @name:  file name in the cache directory
 * @text:  where to store the contents
 * @error: set with QM_ERROR_CACHE on anything suspicious; G_IO_ERROR_
 *         NOT_FOUND (domain G_IO_ERROR) when absent
 *
 * Return: TRUE on success
 */
gboolean qm_cache_read_file(QmCache *cache, const char *name, char **text,
                            GError **error)
{
    g_autoptr(GString) buf = g_string_new(NULL);
    struct stat st;
    char chunk[65536];
    ssize_t r;
    int fd;

    fd = cache->dirfd < 0
             ? -1
             : openat(cache->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (cache->dirfd < 0 || errno == ENOENT)
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s", name);
        else
            g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                        "cache entry %s/%s: %s", cache->dir, name,
                        errno == ELOOP ? "is a symlink" : g_strerror(errno));
        return FALSE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size > CACHE_MAX_FILE) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache entry %s/%s is not a regular file of yours "
                    "under %d bytes",
                    cache->dir, name, CACHE_MAX_FILE);
        close(fd);
        return FALSE;
    }
    while ((r = read(fd, chunk, sizeof(chunk))) > 0 &&
           buf->len + r <= CACHE_MAX_FILE)
        g_string_append_len(buf, chunk, r);
    close(fd);
    *text = g_string_free(g_steal_pointer(&buf), FALSE);
    return TRUE;
}

/**
 * write_all() - write a buffer completely
 * @fd:  file descriptor
 * @buf: data
 * @len: length
 *
 * Return: TRUE on success (errno set on failure)
 */
static gboolean write_all(int fd, const char *buf, gsize len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FALSE;
        buf += w;
        len -= w;
    }
    return TRUE;
}

/**
 * qm_cache_write_file() - replace a cache file with new contents
 * @cache: cache
 * @name:  file name in the cache directory
 * @text:  contents
 * @error: set with QM_ERROR_CACHE on failure
 *
 * A reader sees the old file or the new one, never a mix: temp file,
 * fsync, rename, fsync of the directory.
 *
 * Return: TRUE on success
 */
gboolean qm_cache_write_file(QmCache *cache, const char *name, const char *text,
                             GError **error)
{
    g_autofree char *tmp =
        g_strdup_printf(".%s.%d.%u.tmp", name, getpid(), g_random_int());
    int fd, saved;

    if (cache->dirfd < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cannot write cache directory %s", cache->dir);
        return FALSE;
    }
    fd = openat(cache->dirfd, tmp,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && write_all(fd, text, strlen(text)) && fsync(fd) == 0) {
        int rc = close(fd);

        /* closed either way: never again (another thread's new fd may
         * have its number by now) */
        fd = -1;
        if (rc == 0 && renameat(cache->dirfd, tmp, cache->dirfd, name) == 0) {
            fsync(cache->dirfd);
            return TRUE;
        }
    }
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlinkat(cache->dirfd, tmp, 0);
    g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                "cannot write cache entry in %s: %s", cache->dir,
                g_strerror(saved));
    return FALSE;
}

/**
 * qm_cache_lock() - take a key's lock, waiting until the deadline
 * @cache:    cache
 * @key:      cache key
 * @deadline: g_get_monotonic_time() deadline
 * @lock:     where to store the lock
 * @error:    QM_ERROR_UNREACHABLE when another qemu-mig held it past the
 *            deadline; QM_ERROR_CACHE when no lock file can be made
 *
 * The lock file is never deleted: removing it while another process waits
 * on the old inode would let two probes run at once.
 *
 * Return: TRUE when held (or, with *@lock NULL, when the cache has no
 * directory and so nothing to protect)
 */
gboolean qm_cache_lock(QmCache *cache, const char *key, gint64 deadline,
                       QmCacheLock **lock, GError **error)
{
    g_autofree char *name = qm_cache_file_name(key, ".lock");
    int fd = cache->dirfd < 0
                 ? -1
                 : openat(cache->dirfd, name,
                          O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

    /* No directory, so nothing will be written: nothing to serialise. */
    if (cache->dirfd < 0) {
        *lock = NULL;
        return TRUE;
    }
    if (fd < 0) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cannot create lock file in %s: %s", cache->dir,
                    g_strerror(errno));
        return FALSE;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                        "cannot lock %s/%s: %s", cache->dir, name,
                        g_strerror(errno));
            close(fd);
            return FALSE;
        }
        if (!qm_interrupt_check(cache->dir, error)) {
            close(fd);
            return FALSE;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, QM_ERROR, QM_ERROR_UNREACHABLE,
                        "timed out waiting for another qemu-mig to finish "
                        "probing (%s/%s)",
                        cache->dir, name);
            close(fd);
            return FALSE;
        }
        g_usleep(5000);
    }
    *lock = g_new0(QmCacheLock, 1);
    (*lock)->fd = fd;
    return TRUE;
}

/**
 * qm_cache_unlock() - release and close a lock
 * @lock: lock, or NULL
 */
void qm_cache_unlock(QmCacheLock *lock)
{
    if (lock == NULL)
        return;
    close(lock->fd);
    g_free(lock);
}

/**
 * qm_cache_remove_file() - delete a file of the cache directory
 * @cache: cache
 * @name:  file name, no directory
 * @error: set with QM_ERROR_CACHE when it exists but cannot be removed
 *
 * Return: TRUE when gone (or never there)
 */
gboolean qm_cache_remove_file(QmCache *cache, const char *name, GError **error)
{
    if (cache->dirfd < 0 || unlinkat(cache->dirfd, name, 0) == 0 ||
        errno == ENOENT)
        return TRUE;
    g_set_error(error, QM_ERROR, QM_ERROR_CACHE, "cannot remove %s/%s: %s",
                cache->dir, name, g_strerror(errno));
    return FALSE;
}

/**
 * qm_cache_remove() - delete a key's entry
 * @cache: cache
 * @key:   cache key
 * @error: set with QM_ERROR_CACHE when it exists but cannot be removed
 *
 * Return: TRUE when gone (or never there)
 */
gboolean qm_cache_remove(QmCache *cache, const char *key, GError **error)
{
    g_autofree char *name = qm_cache_file_name(key, ".json");

    return qm_cache_remove_file(cache, name, error);
}
