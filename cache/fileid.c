/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: telling a changed file from an unchanged one without reading it.
 *
 * A remembered result (an ssh_config evaluation, a decision) holds while
 * every file it came from is unchanged.  "Unchanged" is judged by stat()
 * alone - device, inode, size, mtime and ctime - so that checking costs a
 * system call per file and never reads a byte: the warm path must stay
 * cheap.  An editor that rewrites a file in place within one timestamp
 * tick, keeping its size, is the blind spot; ctime (which no user can set)
 * and nanosecond timestamps make it narrow.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fileid.h"

/**
 * qm_fileid_set_new() - an empty set of paths
 *
 * Return: a set for qm_fileid_add(), qm_fileid_lines()
 */
GHashTable *qm_fileid_set_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * line() - the identity line of one path
 * @path: file or directory
 *
 * Return: "PATH\tDEV:INO:SIZE:MTIME:CTIME\n", or "PATH\t-\n" when it does
 * not exist; newly allocated
 */
static char *line(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return g_strdup_printf("%s\t-\n", path);
    return g_strdup_printf(
        "%s\t%ju:%ju:%jd:%jd.%09ld:%jd.%09ld\n", path, (uintmax_t)st.st_dev,
        (uintmax_t)st.st_ino, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
        st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/**
 * qm_fileid_add() - add a file and its directory to a set
 * @set:  set from qm_fileid_set_new()
 * @path: file, absolute (anything else is ignored)
 *
 * The directory is there because a file that does not exist yet (an
 * Include directory's new member, a config created later) shows only as
 * a new mtime of its directory.
 */
void qm_fileid_add(GHashTable *set, const char *path)
{
    if (path == NULL || path[0] != '/')
        return;
    g_hash_table_add(set, g_strdup(path));
    g_hash_table_add(set, g_path_get_dirname(path));
}

/**
 * qm_fileid_add_file() - add a file, not its directory, to a set
 * @set:  set from qm_fileid_set_new()
 * @path: file, absolute (anything else is ignored)
 *
 * For files at a fixed path (a cache entry, a memo): one that does not
 * exist is recorded as such, and its creation is a change of its own
 * line.  Their directory (the cache's) changes whenever any entry is
 * written, the remembered decision itself included.
 */
void qm_fileid_add_file(GHashTable *set, const char *path)
{
    if (path != NULL && path[0] == '/')
        g_hash_table_add(set, g_strdup(path));
}

/**
 * qm_fileid_add_lines() - add the paths of identity lines to a set
 * @set:   set from qm_fileid_set_new()
 * @lines: text from qm_fileid_lines(), or NULL
 */
void qm_fileid_add_lines(GHashTable *set, const char *lines)
{
    g_auto(GStrv) split = g_strsplit(lines ? lines : "", "\n", -1);

    for (char **l = split; *l != NULL; l++) {
        char *tab = strchr(*l, '\t');

        if (tab != NULL && (*l)[0] == '/')
            g_hash_table_add(set, g_strndup(*l, tab - *l));
    }
}

/**
 * cmp_str() - strcmp() for sorting arrays of strings
 * @a:    pointer to a string
 * @b:    pointer to a string
 * @data: unused
 *
 * Return: strcmp() of the strings
 */
static int cmp_str(gconstpointer a, gconstpointer b, gpointer data)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/**
 * qm_fileid_lines() - the identity lines of a set of paths, sorted
 * @set: paths
 *
 * Return: newly allocated lines, "" for an empty set
 */
char *qm_fileid_lines(GHashTable *set)
{
    g_autofree const char **paths =
        (const char **)g_hash_table_get_keys_as_array(set, NULL);
    GString *out = g_string_new(NULL);

    g_qsort_with_data(paths, g_hash_table_size(set), sizeof(*paths), cmp_str,
                      NULL);
    for (guint i = 0; paths[i] != NULL; i++) {
        g_autofree char *l = line(paths[i]);

        g_string_append(out, l);
    }
    return g_string_free(out, FALSE);
}

/**
 * qm_fileid_unchanged() - is every file of some identity lines as it was?
 * @lines: text from qm_fileid_lines()
 *
 * Return: TRUE when stat() says so for every one of them
 */
gboolean qm_fileid_unchanged(const char *lines)
{
    g_autoptr(GHashTable) set = qm_fileid_set_new();
    g_autofree char *now = NULL;

    qm_fileid_add_lines(set, lines);
    now = qm_fileid_lines(set);
    return strcmp(now, lines) == 0;
}

/**
 * cpuinfo_fields() - the first CPU's identity lines from /proc/cpuinfo
 *
 * vendor_id, cpu family, model, stepping, microcode and model name, as
 * the kernel reports them.  Read instead of executing CPUID (libcpuid):
 * under nested virtualisation every CPUID instruction is a trip through
 * two hypervisors, and this runs on every warm launch.  Only the first
 * few KiB are read: the kernel formats /proc/cpuinfo as it is read, and
 * the whole of it is ~1.5 KiB per CPU, milliseconds on a large host.
 *
 * Return: newly allocated "name=value" lines (empty when unreadable)
 */
static char *cpuinfo_fields(void)
{
    static const char *const wanted[] = {
        "vendor_id", "cpu family", "model",
        "stepping",  "microcode",  "model name",
    };
    char text[8192];
    gsize len = 0;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new(NULL);
    guint found = 0;
    int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return g_string_free(out, FALSE);
    /* to the end of the first processor's block (an empty line) */
    while (len < sizeof(text) - 1 && memmem(text, len, "\n\n", 2) == NULL) {
        ssize_t n = read(fd, text + len, sizeof(text) - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (gsize)n;
    }
    close(fd);
    text[len] = '\0';
    lines = g_strsplit(text, "\n", -1);
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
 * qm_fileid_host() - what makes the local profile true
 * @qemu_path: absolute path of the local QEMU
 *
 * Computed without starting anything: the QEMU binary's identity (a
 * package upgrade changes size, mtime or inode), the kernel (KVM's
 * supported CPUID), the CPU signature and microcode (new hardware, or
 * microcode that removes features such as TSX).
 *
 * Return: newly allocated "name=value" lines
 */
char *qm_fileid_host(const char *qemu_path)
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
