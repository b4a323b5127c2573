/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: known_hosts files read with OpenSSH's rules.
 *
 * libssh 0.10 reads known_hosts its own way: it accepts a key a line
 * marks @revoked, matches a host through a negated pattern
 * ("[127.0.0.*]:22,![127.0.0.1]:22" lists 127.0.0.1 for it), reads one
 * user file only and never known_hosts2.  A host key is what stands
 * between qemu-mig and a man in the middle, so qemu-mig decides it
 * itself, as ssh(1) does (OpenSSH's hostfile.c and match.c): the first
 * word may be a marker, the host field is a comma-separated list of
 * patterns with '*' and '?' (and '!' for "not this one", which overrules
 * every other match of the line) or one hashed name "|1|salt|hash"
 * (HMAC-SHA1 of the name keyed by the salt), names are compared in lower
 * case, a host on another port than 22 is "[host]:port".  Pure but for
 * reading the files.
 */
#include <string.h>

#include "knownhosts.h"

/**
 * glob_match() - OpenSSH's match_pattern(): '*' and '?' wildcards
 * @s:       string, lower case
 * @pattern: pattern, lower case
 *
 * Return: TRUE if @pattern matches all of @s
 */
static gboolean glob_match(const char *s, const char *pattern)
{
    for (;;) {
        if (*pattern == '\0')
            return *s == '\0';
        if (*pattern == '*') {
            while (*pattern == '*')
                pattern++;
            if (*pattern == '\0')
                return TRUE;
            for (; *s != '\0'; s++) {
                if (glob_match(s, pattern))
                    return TRUE;
            }
            return FALSE;
        }
        if (*s == '\0' || (*pattern != '?' && *pattern != *s))
            return FALSE;
        s++;
        pattern++;
    }
}

/**
 * hashed_match() - does a hashed host field "|1|salt|hash" name @name?
 * @field: the host field
 * @name:  host name as known_hosts writes it
 *
 * Return: TRUE if HMAC-SHA1(salt, name) is the stored hash
 */
static gboolean hashed_match(const char *field, const char *name)
{
    g_auto(GStrv) parts = g_strsplit(field + strlen("|1|"), "|", -1);
    g_autofree guchar *salt = NULL;
    g_autofree guchar *want = NULL;
    g_autoptr(GHmac) hmac = NULL;
    guint8 digest[20];
    gsize salt_len = 0, want_len = 0, digest_len = sizeof(digest);

    if (g_strv_length(parts) != 2)
        return FALSE;
    salt = g_base64_decode(parts[0], &salt_len);
    want = g_base64_decode(parts[1], &want_len);
    if (salt_len == 0 || want_len != sizeof(digest))
        return FALSE;
    hmac = g_hmac_new(G_CHECKSUM_SHA1, salt, salt_len);
    g_hmac_update(hmac, (const guchar *)name, (gssize)strlen(name));
    g_hmac_get_digest(hmac, digest, &digest_len);
    return digest_len == sizeof(digest) &&
           memcmp(digest, want, sizeof(digest)) == 0;
}

/**
 * qm_known_hosts_name_matches() - does a host field name @name?
 * @patterns: the host field of a known_hosts line
 * @name:     host name as known_hosts writes it (see qm_known_hosts_name())
 *
 * A negated pattern that matches overrules every other pattern of the
 * field (OpenSSH's match_hostname()): "*,!a" does not name "a".
 *
 * Return: TRUE if the field names @name
 */
gboolean qm_known_hosts_name_matches(const char *patterns, const char *name)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    g_auto(GStrv) list = NULL;
    gboolean found = FALSE;

    if (g_str_has_prefix(patterns, "|1|"))
        return hashed_match(patterns, name);
    list = g_strsplit(patterns, ",", -1);
    for (char **p = list; *p != NULL; p++) {
        gboolean negated = **p == '!';
        g_autofree char *pattern = g_ascii_strdown(*p + negated, -1);

        if (*pattern == '\0' || !glob_match(lower, pattern))
            continue;
        if (negated)
            return FALSE;
        found = TRUE;
    }
    return found;
}

/**
 * qm_known_hosts_name() - a host as known_hosts names it
 * @host: host name or address (or HostKeyAlias)
 * @port: port
 *
 * Return: newly allocated "host", or "[host]:port" for another port than
 * 22
 */
char *qm_known_hosts_name(const char *host, unsigned int port)
{
    return port == 22 || port == 0 ? g_strdup(host)
                                   : g_strdup_printf("[%s]:%u", host, port);
}

/**
 * same_key() - do two base64 key blobs hold the same bytes?
 * @a: blob
 * @b: blob
 *
 * Return: TRUE if so
 */
static gboolean same_key(const char *a, const char *b)
{
    g_autofree guchar *da = NULL;
    g_autofree guchar *db = NULL;
    gsize la = 0, lb = 0;

    da = g_base64_decode(a, &la);
    db = g_base64_decode(b, &lb);
    return la > 0 && la == lb && memcmp(da, db, la) == 0;
}

/**
 * note() - remember where a line that decided the answer is
 * @where: where to store "FILE:LINE", or NULL
 * @file:  file
 * @line:  line number
 */
static void note(char **where, const char *file, guint line)
{
    if (where != NULL && *where == NULL)
        *where = g_strdup_printf("%s:%u", file, line);
}

/**
 * qm_known_hosts_check() - what known_hosts files say of a host's key
 * @files: NULL-terminated files, read in order (a missing one is empty)
 * @name:  the host as known_hosts names it (qm_known_hosts_name())
 * @type:  the key's type as known_hosts writes it ("ssh-ed25519", ...)
 * @blob:  the key, base64
 * @where: where to store "FILE:LINE" of the line that decided (for
 *         REVOKED, CHANGED, OTHER, CA_ONLY, OK), or NULL
 *
 * A @revoked line for the host that lists the key wins over everything;
 * then a plain line listing it; then plain lines listing another key of
 * the type (CHANGED) or only other types (OTHER); then @cert-authority
 * lines (host certificates, which qemu-mig cannot verify).
 *
 * Return: the state
 */
QmHostKeyState qm_known_hosts_check(const char *const *files, const char *name,
                                    const char *type, const char *blob,
                                    char **where)
{
    g_autofree char *ok_at = NULL;
    g_autofree char *changed_at = NULL;
    g_autofree char *other_at = NULL;
    g_autofree char *ca_at = NULL;

    if (where != NULL)
        *where = NULL;
    for (gsize f = 0; files != NULL && files[f] != NULL; f++) {
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents(files[f], &text, NULL, NULL))
            continue;
        lines = g_strsplit(text, "\n", -1);
        for (guint n = 0; lines[n] != NULL; n++) {
            g_auto(GStrv) words = NULL;
            const char *marker = NULL;
            guint i = 0;

            g_strdelimit(lines[n], "\t\r", ' ');
            g_strstrip(lines[n]);
            if (lines[n][0] == '\0' || lines[n][0] == '#')
                continue;
            words = g_strsplit(lines[n], " ", -1);
            /* several blanks make empty words: close the gaps */
            for (guint k = 0; words[k] != NULL; k++) {
                if (*words[k] != '\0')
                    words[i++] = words[k];
                else
                    g_free(words[k]);
            }
            words[i] = NULL;
            i = 0;
            if (words[0] != NULL && words[0][0] == '@')
                marker = words[i++];
            if (g_strv_length(words + i) < 3 ||
                !qm_known_hosts_name_matches(words[i], name))
                continue;
            if (marker != NULL && strcmp(marker, "@revoked") == 0) {
                if (same_key(words[i + 2], blob)) {
                    if (where != NULL)
                        *where = g_strdup_printf("%s:%u", files[f], n + 1);
                    return QM_HOSTKEY_REVOKED;
                }
                continue;
            }
            if (marker != NULL && strcmp(marker, "@cert-authority") == 0) {
                note(&ca_at, files[f], n + 1);
                continue;
            }
            if (marker != NULL)
                continue;
            if (strcmp(words[i + 1], type) != 0)
                note(&other_at, files[f], n + 1);
            else if (same_key(words[i + 2], blob))
                note(&ok_at, files[f], n + 1);
            else
                note(&changed_at, files[f], n + 1);
        }
    }
    if (ok_at != NULL) {
        if (where != NULL)
            *where = g_steal_pointer(&ok_at);
        return QM_HOSTKEY_OK;
    }
    if (changed_at != NULL) {
        if (where != NULL)
            *where = g_steal_pointer(&changed_at);
        return QM_HOSTKEY_CHANGED;
    }
    if (other_at != NULL) {
        if (where != NULL)
            *where = g_steal_pointer(&other_at);
        return QM_HOSTKEY_OTHER;
    }
    if (ca_at != NULL) {
        if (where != NULL)
            *where = g_steal_pointer(&ca_at);
        return QM_HOSTKEY_CA_ONLY;
    }
    return QM_HOSTKEY_UNKNOWN;
}
