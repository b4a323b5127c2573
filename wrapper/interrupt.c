/* SPDX-License-Identifier: GPL-2.0-or-later
 * qemu-mig: SIGINT, SIGTERM and SIGHUP while hosts are being probed.
 *
 * Dying at once, as the default action would, leaves a peer's probe QEMU
 * running: sshd only closes its pipes, and a paused QEMU never notices.
 * So while the probe threads run, these signals only raise a flag; every
 * wait in the probe paths wakes at least every QM_INTERRUPT_SLICE_MS, sees
 * it and gives up the way a timeout does (which removes the remote and
 * local probe QEMUs), and once every thread is joined the signal is raised
 * again with its default action, so the caller sees qemu-mig die of it.
 */
#include <signal.h>
#include <unistd.h>

#include "error.h"
#include "interrupt.h"

/* How long a probe wait may sleep before looking at the flag again */
#define QM_INTERRUPT_SLICE_MS 50

static const int qm_interrupt_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* The first signal caught, 0 if none; written by the handler only */
static volatile sig_atomic_t qm_interrupt_signo;

/* Which of qm_interrupt_signals[] have our handler installed */
static gboolean qm_interrupt_installed[G_N_ELEMENTS(qm_interrupt_signals)];

/**
 * on_signal() - handler: remember the first signal, nothing else
 * @sig: the signal
 */
static void on_signal(int sig)
{
    if (qm_interrupt_signo == 0)
        qm_interrupt_signo = sig;
}

/**
 * qm_interrupt_catch() - start turning the signals into a flag
 *
 * Only signals whose disposition is the default are caught: one the
 * caller ignores (nohup, a shell's background job) stays ignored, and a
 * caught signal's handler is reset to the default by execve() anyway, so
 * QEMU still inherits the caller's dispositions.  No SA_RESTART, so that
 * the thread the signal lands on leaves its poll() at once.
 */
void qm_interrupt_catch(void)
{
    struct sigaction sa = {.sa_handler = on_signal};

    sigemptyset(&sa.sa_mask);
    for (gsize i = 0; i < G_N_ELEMENTS(qm_interrupt_signals); i++) {
        struct sigaction old;

        if (sigaction(qm_interrupt_signals[i], NULL, &old) != 0 ||
            old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
            continue;
        qm_interrupt_installed[i] =
            sigaction(qm_interrupt_signals[i], &sa, NULL) == 0;
    }
}

/**
 * qm_interrupt_pending() - whether a caught signal asks us to stop
 *
 * Return: TRUE once SIGINT, SIGTERM or SIGHUP arrived during
 * qm_interrupt_catch()
 */
gboolean qm_interrupt_pending(void)
{
    return qm_interrupt_signo != 0;
}

/**
 * qm_interrupt_poll_ms() - how long a wait may sleep
 * @deadline: g_get_monotonic_time() deadline
 *
 * Return: milliseconds until @deadline (rounded up, so that waking early
 * does not spin), at most QM_INTERRUPT_SLICE_MS, 0 once it passed
 */
int qm_interrupt_poll_ms(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0)
        return 0;
    return (int)MIN((left + 999) / 1000, QM_INTERRUPT_SLICE_MS);
}

/**
 * qm_interrupt_check() - fail when a signal asks us to stop
 * @who:   first word of the message (a host name)
 * @error: set with QM_ERROR_FAILED when interrupted
 *
 * Return: TRUE when not interrupted
 */
gboolean qm_interrupt_check(const char *who, GError **error)
{
    if (!qm_interrupt_pending())
        return TRUE;
    g_set_error(error, QM_ERROR, QM_ERROR_FAILED, "%s: interrupted by %s", who,
                g_strsignal(qm_interrupt_signo));
    return FALSE;
}

/**
 * qm_interrupt_take() - clear the flag for a while, keeping the signal
 *
 * Undoing a half-done migration needs the very SSH and QMP waits that an
 * interruption cuts short: they run with the flag cleared (a second
 * signal sets it again and cuts them short after all), then
 * qm_interrupt_put() gives it back.
 *
 * Return: the signal that came, 0 if none
 */
int qm_interrupt_take(void)
{
    int sig = qm_interrupt_signo;

    qm_interrupt_signo = 0;
    return sig;
}

/**
 * qm_interrupt_put() - give back a signal qm_interrupt_take() took
 * @sig: the signal, or 0
 */
void qm_interrupt_put(int sig)
{
    if (sig != 0 && qm_interrupt_signo == 0)
        qm_interrupt_signo = sig;
}

/**
 * qm_interrupt_release() - restore the default actions, and die of the
 *                          signal that came meanwhile, if any
 *
 * Called with every probe thread joined, so that nothing of ours is left
 * on either side when the signal takes the process.
 */
void qm_interrupt_release(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    int sig = qm_interrupt_signo;

    sigemptyset(&dfl.sa_mask);
    for (gsize i = 0; i < G_N_ELEMENTS(qm_interrupt_signals); i++) {
        if (qm_interrupt_installed[i])
            sigaction(qm_interrupt_signals[i], &dfl, NULL);
        qm_interrupt_installed[i] = FALSE;
    }
    if (sig == 0)
        return;
    raise(sig);
    /* not reached: a signal the caller blocks is never caught at all */
    _exit(128 + sig);
}
