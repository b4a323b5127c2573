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
#include <sys/utsname.h>
#include <unistd.h>

#include "../wrapper/error.h"
#include "../wrapper/interrupt.h"
#include "cache.h"

/* Bumped whenever the record layout or the profile's meaning changes. */
#define CACHE_FORMAT 5

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
 * qm_cache_entry_free() - free a QmCacheEntry
 * @entry: entry, or NULL
 */
void qm_cache_entry_free(QmCacheEntry *entry)
{
    if (entry == NULL)
        return;
    g_free(entry->key);
    qm_profile_free(entry->profile);
    g_free(entry->fingerprint);
    g_free(entry);
}

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
 * entry_name() - file name of a key's entry
 * @key:    cache key
 * @suffix: ".json" or ".lock"
 *
 * Return: newly allocated file name (no directory)
 */
static char *entry_name(const char *key, const char *suffix)
{
    g_autofree char *sum =
        g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);

    sum[32] = '\0';
    return g_strdup_printf("%s-%s%s",
                           g_str_has_prefix(key, "local ") ? "local" : "peer",
                           sum, suffix);
}

/**
 * cpuinfo_fields() - the first CPU's identity lines from /proc/cpuinfo
 *
 * vendor_id, cpu family, model, stepping, microcode and model name, as
 * the kernel reports them.  Read instead of executing CPUID (libcpuid):
 * under nested virtualisation every CPUID instruction is a trip through
 * two hypervisors, and this runs on every warm launch.
 *
 * Return: newly allocated "name=value" lines (empty when unreadable)
 */
static char *cpuinfo_fields(void)
{
    static const char *const wanted[] = {
        "vendor_id", "cpu family", "model",
        "stepping",  "microcode",  "model name",
    };
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new(NULL);
    guint found = 0;

    if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL))
        return g_string_free(out, FALSE);
    lines = g_strsplit(text, "\n", -1);
    /* the first processor's block ends at the first empty line */
    for (char **l = lines; *l && **l && found < G_N_ELEMENTS(wanted); l++) {
        const char *colon = strchr(*l, ':');
        g_autofree char *name = NULL;

        if (colon == NULL)
            continue;
        name = g_strstrip(g_strndup(*l, colon - *l));
        for (gsize w = 0; w < G_N_ELEMENTS(wanted); w++) {
            if (strcmp(name, wanted[w]) == 0) {
                g_autofree char *value = g_strstrip(g_strdup(colon + 1));

                g_string_append_printf(out, "%s=%s\n", name, value);
                found++;
            }
        }
    }
    return g_string_free(out, FALSE);
}

/**
 * qm_cache_local_fingerprint() - what makes the local profile true
 * @qemu_path: absolute path of the local QEMU
 *
 * Computed without starting anything: the QEMU binary's identity (a
 * package upgrade changes size, mtime or inode), the kernel (KVM's
 * supported CPUID), the CPU signature and microcode (new hardware, or
 * microcode that removes features such as TSX).
 *
 * Return: newly allocated "name=value" lines
 */
char *qm_cache_local_fingerprint(const char *qemu_path)
{
    GString *fp = g_string_new(NULL);
    g_autofree char *cpu = cpuinfo_fields();
    struct utsname uts;
    struct stat st;

    if (stat(qemu_path, &st) == 0)
        g_string_append_printf(fp,
                               "qemu=%s size=%lld mtime=%lld.%09ld "
                               "dev=%llu ino=%llu\n",
                               qemu_path, (long long)st.st_size,
                               (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                               (unsigned long long)st.st_dev,
                               (unsigned long long)st.st_ino);
    else
        g_string_append_printf(fp, "qemu=%s missing\n", qemu_path);
    if (uname(&uts) == 0)
        g_string_append_printf(fp, "kernel=%s %s\n", uts.release, uts.version);
    g_string_append(fp, cpu);
    return g_string_free(fp, FALSE);
}

/**
 * profile_region() - the raw bytes of a record's "profile" member
 * @text: record text, as qm_cache_store() writes it
 * @len:  where to store the region's length
 *
 * The profile is written last, so its bytes run from the first
 * "profile": (no earlier member can hold an unescaped quote) to the
 * record's closing brace.  Hashing those bytes, rather than re-serialising
 * the parsed profile, keeps the warm path cheap; a record laid out any
 * other way simply fails the checksum.
 *
 * Return: pointer into @text, or NULL when there is no such member
 */
static const char *profile_region(const char *text, gsize *len)
{
    const char *start = strstr(text, "\"profile\":");
    gsize end = strlen(text);

    while (end > 0 && g_ascii_isspace(text[end - 1]))
        end--;
    if (start == NULL || end == 0 || text[end - 1] != '}')
        return NULL;
    start += strlen("\"profile\":");
    if (start > text + end - 1)
        return NULL;
    *len = (gsize)(text + end - 1 - start);
    return start;
}

/**
 * read_file_at() - read a cache file safely
 * @cache: cache
 * @name:  file name in the cache directory
 * @text:  where to store the contents
 * @error: set with QM_ERROR_CACHE on anything suspicious; G_IO_ERROR_
 *         NOT_FOUND (domain G_IO_ERROR) when absent
 *
 * Return: TRUE on success
 */
static gboolean read_file_at(QmCache *cache, const char *name, char **text,
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
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s", name);
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
 * parse_record() - validate and decode a cache record
 * @cache:    cache (for messages)
 * @name:     file name (for messages)
 * @text:     file contents
 * @key:      expected key, or NULL to accept the record's own (listing)
 * @entry:    where to store the entry
 * @error:    set with QM_ERROR_CACHE when the record cannot be trusted
 *
 * Return: TRUE on success
 */
static gboolean parse_record(QmCache *cache, const char *name, const char *text,
                             const char *key, QmCacheEntry **entry,
                             GError **error)
{
    static const char *const header_members[] = {
        "format", "key", "stored-at", "fingerprint", "checksum",
    };
    static const GType header_types[] = {
        G_TYPE_INT64, G_TYPE_STRING, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_STRING,
    };
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(QmCacheEntry) out = g_new0(QmCacheEntry, 1);
    g_autofree char *expected_name = NULL;
    g_autofree char *sum = NULL;
    JsonObject *obj;
    JsonNode *profile;
    const char *why = NULL;
    const char *region;
    gsize region_len = 0;

    if (!qm_profile_json_parse(text, strlen(text), &root, &local) ||
        !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache entry %s/%s is corrupt or truncated", cache->dir,
                    name);
        return FALSE;
    }
    obj = json_node_get_object(root);
    /* json-glib's *_with_default() getters cannot be trusted with a
     * member of another type: "key": 5 reads as NULL, and an object or
     * array raises a CRITICAL */
    for (gsize i = 0; i < G_N_ELEMENTS(header_members); i++) {
        JsonNode *member = json_object_get_member(obj, header_members[i]);

        if (member != NULL &&
            (!JSON_NODE_HOLDS_VALUE(member) ||
             json_node_get_value_type(member) != header_types[i])) {
            g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                        "cache entry %s/%s is corrupt or truncated", cache->dir,
                        name);
            return FALSE;
        }
    }
    profile = json_object_get_member(obj, "profile");
    out->key =
        g_strdup(json_object_get_string_member_with_default(obj, "key", ""));
    out->fingerprint = g_strdup(
        json_object_get_string_member_with_default(obj, "fingerprint", ""));
    out->stored_at =
        json_object_get_int_member_with_default(obj, "stored-at", 0);
    expected_name = entry_name(out->key, ".json");

    if (json_object_get_int_member_with_default(obj, "format", 0) !=
        CACHE_FORMAT)
        why = "has a foreign format version";
    else if ((key != NULL && strcmp(out->key, key) != 0) ||
             strcmp(expected_name, name) != 0)
        why = "belongs to another key";
    else if (profile == NULL ||
             (region = profile_region(text, &region_len)) == NULL ||
             g_strcmp0(sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                                         (const guchar *)region,
                                                         region_len),
                       json_object_get_string_member_with_default(
                           obj, "checksum", "")) != 0)
        why = "fails its checksum (edited by hand?)";
    if (why != NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE, "cache entry %s/%s %s",
                    cache->dir, name, why);
        return FALSE;
    }
    out->profile = qm_profile_from_json(profile, &local);
    if (out->profile == NULL) {
        g_set_error(error, QM_ERROR, QM_ERROR_CACHE,
                    "cache entry %s/%s holds an invalid profile: %s",
                    cache->dir, name, local->message);
        return FALSE;
    }
    *entry = g_steal_pointer(&out);
    return TRUE;
}

/**
 * qm_cache_load() - read a key's entry
 * @cache: cache
 * @key:   cache key
 * @entry: where to store the entry; NULL when there is none (a miss)
 * @error: set with QM_ERROR_CACHE when an entry exists but cannot be
 *         trusted (corrupt, truncated, foreign version, edited, wrong
 *         owner, symlink): callers warn and treat it as a miss
 *
 * Return: TRUE on a hit or a clean miss
 */
gboolean qm_cache_load(QmCache *cache, const char *key, QmCacheEntry **entry,
                       GError **error)
{
    g_autofree char *name = entry_name(key, ".json");
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    *entry = NULL;
    if (!read_file_at(cache, name, &text, &local)) {
        if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    return parse_record(cache, name, text, key, entry, error);
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
 * write_atomically() - replace a cache file with new contents
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
static gboolean write_atomically(QmCache *cache, const char *name,
                                 const char *text, GError **error)
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
 * qm_cache_read_memo() - read a small file the cache keeps besides its
 *                        entries (e.g. an evaluated ssh_config)
 * @cache: cache
 * @name:  file name, no directory
 * @text:  set to its contents
 *
 * Checked like an entry (no symlink, a regular file of ours).
 *
 * Return: TRUE when read
 */
gboolean qm_cache_read_memo(QmCache *cache, const char *name, char **text)
{
    return read_file_at(cache, name, text, NULL);
}

/**
 * qm_cache_write_memo() - replace such a file atomically
 * @cache: cache
 * @name:  file name, no directory
 * @text:  contents
 * @error: set with QM_ERROR_CACHE on failure
 *
 * Return: TRUE when written
 */
gboolean qm_cache_write_memo(QmCache *cache, const char *name, const char *text,
                             GError **error)
{
    return write_atomically(cache, name, text, error);
}

/**
 * qm_cache_store() - write a key's entry atomically
 * @cache:       cache
 * @key:         cache key
 * @profile:     profile to store
 * @fingerprint: local fingerprint, or NULL for peers
 * @error:       set with QM_ERROR_CACHE when it cannot be written (the
 *               caller warns; the launch goes on)
 *
 * A reader sees the old entry or the new one, never a mix: temp file,
 * fsync, rename, fsync of the directory.
 *
 * Return: TRUE on success
 */
gboolean qm_cache_store(QmCache *cache, const char *key,
                        const QmProfile *profile, const char *fingerprint,
                        GError **error)
{
    g_autofree char *name = entry_name(key, ".json");
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(JsonNode) pnode = qm_profile_to_json(profile);
    g_autoptr(JsonGenerator) pgen = json_generator_new();
    g_autofree char *ptext = NULL;
    g_autofree char *sum = NULL;
    g_autofree char *header = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "format");
    json_builder_add_int_value(builder, CACHE_FORMAT);
    json_builder_set_member_name(builder, "key");
    json_builder_add_string_value(builder, key);
    json_builder_set_member_name(builder, "stored-at");
    json_builder_add_int_value(builder, profile->probed_at);
    json_builder_set_member_name(builder, "fingerprint");
    json_builder_add_string_value(builder, fingerprint ? fingerprint : "");
    json_generator_set_root(pgen, pnode);
    ptext = json_generator_to_data(pgen, NULL);
    sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, ptext, -1);
    json_builder_set_member_name(builder, "checksum");
    json_builder_add_string_value(builder, sum);
    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    json_generator_set_root(gen, root);
    header = json_generator_to_data(gen, NULL);
    /* the profile last, spliced in as hashed: see profile_region() */
    header[strlen(header) - 1] = '\0';
    text = g_strdup_printf("%s,\"profile\":%s}\n", header, ptext);

    return write_atomically(cache, name, text, error);
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
    g_autofree char *name = entry_name(key, ".lock");
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
 * cmp_entry_key() - GCompareFunc ordering QmCacheEntry pointers by key
 * @a: pointer to the first entry pointer
 * @b: pointer to the second entry pointer
 *
 * Return: strcmp() order of the keys
 */
static int cmp_entry_key(gconstpointer a, gconstpointer b)
{
    const QmCacheEntry *ea = *(QmCacheEntry *const *)a;
    const QmCacheEntry *eb = *(QmCacheEntry *const *)b;

    return strcmp(ea->key, eb->key);
}

/**
 * qm_cache_list() - every readable entry
 * @cache:   cache
 * @entries: where to store QmCacheEntry items, sorted by key; entries that
 *           cannot be trusted are skipped
 * @error:   unused today (listing a missing directory gives no entries)
 *
 * Return: TRUE
 */
gboolean qm_cache_list(QmCache *cache, GPtrArray **entries, GError **error)
{
    GPtrArray *out =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_cache_entry_free);
    g_autoptr(GDir) dir = g_dir_open(cache->dir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *text = NULL;
        QmCacheEntry *entry = NULL;

        if (name[0] == '.' || !g_str_has_suffix(name, ".json"))
            continue;
        if (read_file_at(cache, name, &text, NULL) &&
            parse_record(cache, name, text, NULL, &entry, NULL))
            g_ptr_array_add(out, entry);
    }
    /* readdir() order is the file system's: sort, as promised */
    g_ptr_array_sort(out, cmp_entry_key);
    *entries = out;
    return TRUE;
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
    g_autofree char *name = entry_name(key, ".json");

    if (cache->dirfd < 0 || unlinkat(cache->dirfd, name, 0) == 0 ||
        errno == ENOENT)
        return TRUE;
    g_set_error(error, QM_ERROR, QM_ERROR_CACHE, "cannot remove %s/%s: %s",
                cache->dir, name, g_strerror(errno));
    return FALSE;
}
