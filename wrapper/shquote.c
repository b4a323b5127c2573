/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: POSIX shell quoting for --dry-run.
 */
#include <string.h>

#include "shquote.h"

/**
 * qm_shquote_word() - quote one word for any POSIX shell
 * @word: arbitrary bytes (not necessarily UTF-8)
 *
 * Words made only of characters no shell treats specially are left bare
 * for readability; everything else is single-quoted, with ' written as
 * '\''.  Bytes are never transcoded, so `eval` gives back the exact word.
 *
 * Return: newly allocated quoted word
 */
char *qm_shquote_word(const char *word)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789"
                               "-_./:,=+@%";
    GString *out;

    if (*word != '\0' && strspn(word, safe) == strlen(word))
        return g_strdup(word);

    out = g_string_new("'");
    for (const char *p = word; *p; p++) {
        if (*p == '\'')
            g_string_append(out, "'\\''");
        else
            g_string_append_c(out, *p);
    }
    g_string_append_c(out, '\'');
    return g_string_free(out, FALSE);
}

/**
 * qm_shquote_argv() - one shell line that `eval`s back to @argv
 * @argv: NULL-terminated argument vector
 *
 * Return: newly allocated line, words separated by single spaces
 */
char *qm_shquote_argv(char *const *argv)
{
    GString *line = g_string_new(NULL);

    for (char *const *arg = argv; *arg; arg++) {
        g_autofree char *quoted = qm_shquote_word(*arg);

        if (arg != argv)
            g_string_append_c(line, ' ');
        g_string_append(line, quoted);
    }
    return g_string_free(line, FALSE);
}
