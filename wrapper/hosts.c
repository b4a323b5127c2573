/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: getting every host's profile - from the cache when it can be
 * trusted, else by probing - all hosts in parallel, one thread each.
 *
 * Per host: a trusted fresh entry is used as is (the warm path: no
 * process, no connection).  Otherwise the entry's lock is taken, the entry
 * read again (a concurrent qemu-mig may just have written it), and only
 * then is the host probed and the entry replaced.  So N launches racing on
 * a cold cache probe each host once.
 */
#include <string.h>

#include "../cache/fileid.h"
#include "../remote/probe.h"
#include "../remote/sshconfig.h"
#include "error.h"
#include "hosts.h"
#include "interrupt.h"

/**
 * struct HostSync - what the gathering thread waits on
 * @lock: guards every job's @done
 * @cond: signalled when a job is done
 */
struct HostSync {
    GMutex lock;
    GCond cond;
};

/**
 * HostJob - one host's work, written only by its own thread
 * @request:  the shared request
 * @dest:     destination, or NULL for the local host
 * @profile:  result
 * @warnings: this host's warnings (char *)
 * @error:    failure
 * @config:   the peer's evaluated ssh_config
 * @remote_qemu: the QEMU command on the peer
 * @sync:     the gathering's shared state (done counting)
 * @done:     the job finished (under @sync->lock)
 * @trace:    what this host's result depends on (see QmHostsTrace)
 */
typedef struct {
    const QmHostsRequest *request;
    struct HostSync *sync;
    gboolean done;
    const char *dest;
    const char *remote_qemu;
    QmProfile *profile;
    GPtrArray *warnings;
    GError *error;
    QmSshConfig *config;
    QmHostsTrace trace;
} HostJob;

/**
 * qm_hosts_peer_key() - the cache key of a destination, and what
 *                       ssh_config says for it
 * @dest:        destination as written
 * @ssh:         SSH options
 * @remote_qemu: QEMU command on the peer
 * @cache:       cache remembering evaluated ssh_configs, or NULL
 * @deadline:    g_get_monotonic_time() deadline for ssh -G
 * @key:         where to store the key
 * @config:      where to store the evaluated ssh_config, or NULL
 * @memo:        where to store the path of the memo the evaluation is
 *               remembered in (NULL when it is not: a Match exec ran, or
 *               there is no cache), or NULL
 * @error:       set when the destination cannot be resolved
 *
 * A warm launch must start no process: an evaluation the cache remembers
 * is used while every file it came from is unchanged (sshconfig.c).
 *
 * Return: TRUE on success
 */
gboolean qm_hosts_peer_key(const char *dest, const QmSshOptions *ssh,
                           const char *remote_qemu, QmCache *cache,
                           gint64 deadline, char **key, QmSshConfig **config,
                           char **memo, GError **error)
{
    g_autofree char *name = qm_ssh_config_memo_name(dest, ssh);
    g_autofree char *text = NULL;
    g_autoptr(QmSshConfig) c = NULL;
    gboolean remembered = FALSE;

    if (cache != NULL && qm_cache_read_file(cache, name, &text, NULL))
        c = qm_ssh_config_from_memo(text, dest, ssh);
    remembered = c != NULL;
    if (c == NULL) {
        g_autofree char *fresh = NULL;

        if (!qm_ssh_config_evaluate(dest, ssh, deadline, &c, error))
            return FALSE;
        fresh = qm_ssh_config_to_memo(c, ssh);
        /* not remembered is only slower: no warning */
        remembered = cache != NULL && fresh != NULL &&
                     qm_cache_write_file(cache, name, fresh, NULL);
    }
    if (memo != NULL) {
        g_autofree char *path =
            remembered ? g_build_filename(qm_cache_dir(cache), name, NULL)
                       : NULL;

        *memo = path ? g_canonicalize_filename(path, NULL) : NULL;
    }
    *key = qm_cache_key_peer(
        c->user, c->hostname, c->port,
        c->host_key_alias && *c->host_key_alias ? c->host_key_alias : NULL,
        c->proxy_command, remote_qemu);
    if (config != NULL)
        *config = g_steal_pointer(&c);
    return TRUE;
}

/**
 * entry_usable() - may this entry stand for the host right now?
 * @job:         the host's job
 * @entry:       entry, or NULL
 * @fingerprint: local fingerprint now (local host only)
 *
 * The local host is judged by its fingerprint (nothing to spawn to
 * check); a peer, which cannot be checked without connecting, by age:
 * younger than max_age_s (so a max-age of 0 always re-probes).
 *
 * Return: TRUE if fresh and valid
 */
static gboolean entry_usable(const HostJob *job, const QmCacheEntry *entry,
                             const char *fingerprint)
{
    gint64 age;

    if (entry == NULL)
        return FALSE;
    if (job->dest == NULL)
        return g_strcmp0(entry->fingerprint, fingerprint) == 0;
    age = g_get_real_time() / G_USEC_PER_SEC - entry->stored_at;
    /* Whole seconds: an entry stored this second is 0s old, and --max-age
     * 0 must still mean "re-probe", so an entry is fresh below max-age. */
    return age >= 0 && age < job->request->max_age_s;
}

/**
 * load_entry() - read an entry, turning distrust into a warning
 * @job:   the host's job
 * @key:   cache key
 *
 * The entry is read twice (before and under the lock); a warning already
 * given for this host is not repeated.
 *
 * Return: the entry, or NULL on a miss or an untrusted entry
 */
static QmCacheEntry *load_entry(HostJob *job, const char *key)
{
    g_autoptr(GError) error = NULL;
    QmCacheEntry *entry = NULL;

    if (job->request->cache == NULL)
        return NULL;
    if (!qm_cache_load(job->request->cache, key, &entry, &error)) {
        g_autofree char *msg =
            g_strdup_printf("%s; ignoring it", error->message);

        /* Read again under the lock: the same distrust is said once. */
        for (guint i = 0; i < job->warnings->len; i++) {
            if (strcmp(g_ptr_array_index(job->warnings, i), msg) == 0)
                return NULL;
        }
        g_ptr_array_add(job->warnings, g_steal_pointer(&msg));
        return NULL;
    }
    return entry;
}

/**
 * take_entry() - make the job's profile a cached one
 * @job:    the host's job
 * @entry:  entry (its profile is taken)
 * @source: "cache" or "stale cache"
 */
static void take_entry(HostJob *job, QmCacheEntry *entry, const char *source)
{
    const char *name = job->dest ? job->dest : "local";

    job->profile = g_steal_pointer(&entry->profile);
    /* The alias typed today names the profile, not the one stored. */
    g_free(job->profile->name);
    job->profile->name = g_strdup(name);
    job->profile->source = g_strdup(source);
}

/**
 * probe_host() - probe the job's host now
 * @job:   the host's job
 * @error: set on failure
 *
 * Return: the new profile, or NULL
 */
static QmProfile *probe_host(HostJob *job, GError **error)
{
    const QmHostsRequest *req = job->request;
    QmProfile *profile = NULL;

    if (job->dest == NULL) {
        qm_probe_local(req->qemu_path, req->deadline, &profile, error);
    } else {
        g_autofree char *noise = NULL;
        QmSshOptions ssh = *req->ssh;

        /* ssh_config as evaluated for the key: not a second ssh -G */
        ssh.config = job->config;
        qm_probe_peer(job->dest, &ssh, job->remote_qemu, req->deadline,
                      &profile, &noise, error);
        if (noise != NULL)
            g_ptr_array_add(job->warnings,
                            g_strdup_printf("%s: its login shell printed "
                                            "\"%s\" before QEMU's greeting; "
                                            "skipped",
                                            job->dest, noise));
    }
    if (profile != NULL)
        profile->source = g_strdup("probe");
    return profile;
}

/**
 * use_stale() - fall back to an expired entry for an unreachable peer
 * @job:   the host's job
 * @entry: the expired entry, or NULL
 * @error: why the peer could not be probed
 *
 * Only for --on-unreachable=stale, only for peers, and only when the peer
 * could not be reached (or timed out): a peer that answers with a changed
 * host key or a broken QEMU is a refusal, not an outage.
 *
 * Return: TRUE when the entry now stands for the peer, with one warning
 */
static gboolean use_stale(HostJob *job, QmCacheEntry *entry,
                          const GError *error)
{
    g_autofree char *age = NULL;

    if (entry == NULL || job->dest == NULL || !job->request->stale_ok ||
        !g_error_matches(error, QM_ERROR, QM_ERROR_UNREACHABLE))
        return FALSE;
    age = qm_profile_age(entry->profile);
    g_ptr_array_add(job->warnings,
                    g_strdup_printf("%s is unreachable (%s); using its cached "
                                    "profile from %s ago",
                                    job->dest, error->message, age));
    take_entry(job, entry, "stale cache");
    return TRUE;
}

/**
 * trace_sources() - note what a host's result will be read from
 * @job:         the host's job
 * @key:         its cache key
 * @memo:        the ssh_config memo its evaluation is remembered in, or NULL
 * @fingerprint: the local host's fingerprint, or NULL for a peer
 *
 * What a launch finding the same would gather the same from: the cache
 * entry, the memo and the files the evaluation read.  A peer whose
 * evaluation is not remembered, or no cache, makes the result not exact.
 */
static void trace_sources(HostJob *job, const char *key, const char *memo,
                          const char *fingerprint)
{
    const QmHostsRequest *req = job->request;

    if (memo != NULL) {
        qm_fileid_add_file(job->trace.files, memo);
        qm_fileid_add_lines(job->trace.files, job->config->files);
    } else if (job->dest != NULL) {
        job->trace.exact = FALSE;
    }
    if (req->cache != NULL) {
        g_autofree char *path = qm_cache_entry_path(req->cache, key);

        qm_fileid_add_file(job->trace.files, path);
    } else {
        job->trace.exact = FALSE;
    }
    job->trace.host = g_strdup(fingerprint);
}

/**
 * fetch() - the job's profile from cache or probe
 * @job: the host's job; fills profile or error
 */
static void fetch(HostJob *job)
{
    const QmHostsRequest *req = job->request;
    const char *name = job->dest ? job->dest : "local";
    g_autofree char *key = NULL;
    g_autofree char *fingerprint = NULL;
    g_autoptr(QmCacheEntry) entry = NULL;
    g_autoptr(QmCacheLock) lock = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(QmProfile) fresh = NULL;
    g_autofree char *memo = NULL;

    if (job->dest == NULL) {
        key = qm_cache_key_local(req->qemu_path);
        fingerprint = qm_fileid_host(req->qemu_path);
    } else if (!qm_hosts_peer_key(job->dest, req->ssh, job->remote_qemu,
                                  req->cache, req->deadline, &key, &job->config,
                                  &memo, &job->error)) {
        return;
    }
    if (req->trace != NULL)
        trace_sources(job, key, memo, fingerprint);

    if (!req->refresh) {
        entry = load_entry(job, key);
        if (entry_usable(job, entry, fingerprint)) {
            if (job->dest != NULL)
                job->trace.expires = entry->stored_at + req->max_age_s;
            take_entry(job, entry, "cache");
            return;
        }
    }
    if (req->offline) {
        if (entry != NULL && job->dest != NULL) {
            g_autofree char *age = qm_profile_age(entry->profile);

            g_ptr_array_add(job->warnings,
                            g_strdup_printf("%s: cached profile is %s old, "
                                            "older than --max-age; used "
                                            "because of --offline",
                                            name, age));
            take_entry(job, entry, "stale cache");
            return;
        }
        g_set_error(&job->error, QM_ERROR, QM_ERROR_CACHE,
                    "%s: no %scached profile, and --offline forbids probing",
                    name, entry != NULL ? "current " : "");
        return;
    }

    if (req->cache != NULL &&
        !qm_cache_lock(req->cache, key, req->deadline, &lock, &error)) {
        if (qm_interrupt_pending()) {
            job->error = g_steal_pointer(&error);
            return;
        }
        if (error->code == QM_ERROR_UNREACHABLE) {
            /* another qemu-mig is stuck probing: same as unreachable */
            if (use_stale(job, entry, error))
                return;
            g_propagate_prefixed_error(&job->error, g_steal_pointer(&error),
                                       "%s: ", name);
            return;
        }
        g_ptr_array_add(job->warnings, g_strdup_printf("%s; probing without "
                                                       "a lock",
                                                       error->message));
        g_clear_error(&error);
    }
    if (lock != NULL && !req->refresh) {
        g_clear_pointer(&entry, qm_cache_entry_free);
        entry = load_entry(job, key);
        if (entry_usable(job, entry, fingerprint)) {
            take_entry(job, entry, "cache");
            return;
        }
    }

    /* an interrupted probe fails with QM_ERROR_FAILED: never stale */
    fresh = probe_host(job, &error);
    if (fresh == NULL) {
        if (!use_stale(job, entry, error))
            job->error = g_steal_pointer(&error);
        return;
    }
    /* stored (below) no earlier than now: it ages from now at the latest */
    if (job->dest != NULL)
        job->trace.expires =
            g_get_real_time() / G_USEC_PER_SEC + req->max_age_s;
    if (req->cache != NULL &&
        !qm_cache_store(req->cache, key, fresh, fingerprint, &error))
        g_ptr_array_add(job->warnings,
                        g_strdup_printf("%s; the profile of %s is not cached",
                                        error->message, name));
    job->profile = g_steal_pointer(&fresh);
}

/**
 * host_thread() - body of one host's thread
 * @data: the HostJob
 *
 * Return: NULL
 */
static gpointer host_thread(gpointer data)
{
    HostJob *job = data;

    fetch(job);
    g_mutex_lock(&job->sync->lock);
    job->done = TRUE;
    g_cond_signal(&job->sync->cond);
    g_mutex_unlock(&job->sync->lock);
    return NULL;
}

/**
 * wait_jobs() - wait until every job is done, telling the caller how far
 *               it is while that takes long
 * @request: the request (its progress callback)
 * @jobs:    the jobs
 * @njobs:   how many
 * @sync:    their shared state
 */
static void wait_jobs(const QmHostsRequest *request, HostJob *jobs, guint njobs,
                      struct HostSync *sync)
{
    gint64 start = g_get_monotonic_time();

    g_mutex_lock(&sync->lock);
    for (;;) {
        g_autoptr(GPtrArray) waiting = g_ptr_array_new();
        guint done = 0;

        for (guint i = 0; i < njobs; i++) {
            if (jobs[i].done)
                done++;
            else
                g_ptr_array_add(
                    waiting, (char *)(jobs[i].dest ? jobs[i].dest : "local"));
        }
        if (done == njobs)
            break;
        if (request->progress != NULL) {
            g_ptr_array_add(waiting, NULL);
            g_mutex_unlock(&sync->lock);
            request->progress(done, njobs, (const char *const *)waiting->pdata,
                              (g_get_monotonic_time() - start) / 1e6,
                              request->progress_data);
            g_mutex_lock(&sync->lock);
        }
        /* a job's end wakes us; so does the next quarter second */
        g_cond_wait_until(&sync->cond, &sync->lock,
                          g_get_monotonic_time() + G_USEC_PER_SEC / 4);
    }
    g_mutex_unlock(&sync->lock);
}

/**
 * qm_hosts_trace_clear() - free what a QmHostsTrace holds
 * @trace: trace (itself not freed)
 */
void qm_hosts_trace_clear(QmHostsTrace *trace)
{
    g_clear_pointer(&trace->files, g_hash_table_unref);
    g_clear_pointer(&trace->host, g_free);
}

/**
 * merge_trace() - move one host's trace into the gathering's
 * @trace: the gathering's (files created here on first use)
 * @job:   a finished job (its paths are taken)
 */
static void merge_trace(QmHostsTrace *trace, HostJob *job)
{
    GHashTableIter it;
    gpointer path;

    if (trace->files == NULL) {
        trace->files = qm_fileid_set_new();
        trace->expires = G_MAXINT64;
        trace->exact = TRUE;
    }
    /* the job's paths move over: it is done with them */
    g_hash_table_iter_init(&it, job->trace.files);
    while (g_hash_table_iter_next(&it, &path, NULL)) {
        g_hash_table_iter_steal(&it);
        g_hash_table_add(trace->files, path);
    }
    if (job->dest == NULL && job->trace.host != NULL) {
        g_free(trace->host);
        trace->host = g_strdup(job->trace.host);
    }
    trace->expires = MIN(trace->expires, job->trace.expires);
    /* a warning (stale entry, store failed, shell noise) says "not as
     * usual": such a launch is decided afresh each time */
    trace->exact = trace->exact && job->trace.exact &&
                   job->warnings->len == 0 && job->error == NULL &&
                   job->profile != NULL;
}

/**
 * qm_hosts_gather() - every host's profile, in parallel
 * @request:  what to gather
 * @local:    where to store the local profile (NULL when skipped)
 * @peers:    where to store the peers' profiles, in order
 * @warnings: gets every host's warnings, in host order
 * @error:    set when any host failed: the first in order, naming the
 *            other failing hosts
 *
 * Every thread is joined before returning, on success and failure, so no
 * libssh session, probe QEMU or cache lock outlives this call: by exec
 * time nothing of ours is open.
 *
 * Return: TRUE when every host has a profile
 */
gboolean qm_hosts_gather(const QmHostsRequest *request, QmProfile **local,
                         GPtrArray **peers, GPtrArray *warnings, GError **error)
{
    guint npeers = request->peers ? g_strv_length((char **)request->peers) : 0;
    guint njobs = npeers + (request->qemu_path ? 1 : 0);
    g_autofree HostJob *jobs = g_new0(HostJob, njobs);
    g_autofree GThread **threads = g_new0(GThread *, njobs);
    g_autoptr(GPtrArray) out =
        g_ptr_array_new_with_free_func((GDestroyNotify)qm_profile_free);
    g_autoptr(GString) others = g_string_new(NULL);
    struct HostSync sync;
    GError *first = NULL;

    g_mutex_init(&sync.lock);
    g_cond_init(&sync.cond);
    for (guint i = 0; i < njobs; i++) {
        jobs[i].request = request;
        jobs[i].sync = &sync;
        jobs[i].dest = i < npeers ? request->peers[i] : NULL;
        jobs[i].remote_qemu = i < npeers && request->remote_qemus != NULL
                                  ? request->remote_qemus[i]
                                  : request->remote_qemu;
        jobs[i].warnings = g_ptr_array_new_with_free_func(g_free);
        if (request->trace != NULL)
            jobs[i].trace.files = qm_fileid_set_new();
        jobs[i].trace.expires = G_MAXINT64;
        jobs[i].trace.exact = TRUE;
        /* g_thread_new() aborts when no thread can be made (ulimit -u):
         * that host is then done here, in turn, within the same deadline */
        threads[i] = g_thread_try_new("host", host_thread, &jobs[i], NULL);
    }
    for (guint i = 0; i < njobs; i++) {
        if (threads[i] == NULL)
            host_thread(&jobs[i]);
    }
    wait_jobs(request, jobs, njobs, &sync);
    for (guint i = 0; i < njobs; i++) {
        if (threads[i] != NULL)
            g_thread_join(threads[i]);
    }
    g_mutex_clear(&sync.lock);
    g_cond_clear(&sync.cond);

    for (guint i = 0; i < njobs; i++) {
        if (request->trace != NULL)
            merge_trace(request->trace, &jobs[i]);
        qm_hosts_trace_clear(&jobs[i].trace);
        for (guint w = 0; w < jobs[i].warnings->len; w++)
            g_ptr_array_add(warnings,
                            g_strdup(g_ptr_array_index(jobs[i].warnings, w)));
        g_ptr_array_unref(jobs[i].warnings);
        qm_ssh_config_free(jobs[i].config);
        if (jobs[i].error == NULL)
            continue;
        if (first == NULL) {
            first = jobs[i].error;
        } else {
            g_string_append_printf(others, "%s%s", others->len ? ", " : "",
                                   jobs[i].dest ? jobs[i].dest : "local");
            g_error_free(jobs[i].error);
        }
    }
    if (first != NULL) {
        for (guint i = 0; i < njobs; i++)
            qm_profile_free(jobs[i].profile);
        if (others->len > 0) {
            g_autofree char *msg = g_strdup_printf("%s (also failed: %s)",
                                                   first->message, others->str);

            g_free(first->message);
            first->message = g_steal_pointer(&msg);
        }
        g_propagate_error(error, first);
        return FALSE;
    }
    for (guint i = 0; i < npeers; i++)
        g_ptr_array_add(out, jobs[i].profile);
    *local = request->qemu_path ? jobs[npeers].profile : NULL;
    *peers = g_steal_pointer(&out);
    return TRUE;
}
