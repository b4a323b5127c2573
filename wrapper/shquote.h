/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: POSIX shell quoting for --dry-run.
 */
#pragma once

#include <glib.h>

char *qm_shquote_word(const char *word);
char *qm_shquote_argv(char *const *argv);
