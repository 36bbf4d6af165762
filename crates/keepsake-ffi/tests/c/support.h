/* What the C tests share: failing with a message, and checking statuses. */
#ifndef KEEPSAKE_TEST_SUPPORT_H
#define KEEPSAKE_TEST_SUPPORT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keepsake.h"

static int failures = 0;

/* Reports a failed check; the program goes on and exits non-zero at the end. */
static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("FAIL ", stdout);
    vprintf(format, args);
    fputc('\n', stdout);
    va_end(args);
    failures++;
}

/* Stops the program: something the rest depends on did not work. */
static void die(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("FATAL ", stdout);
    vprintf(format, args);
    fputc('\n', stdout);
    va_end(args);
    exit(2);
}

/* Checks that a call returned `expected`; frees the error it stored. */
static void expect_status(const char *what, KeepsakeStatus got, KeepsakeStatus expected,
                          KeepsakeError *error) {
    if (got != expected) {
        fail("%s: expected %s, got %s: %s", what, keepsake_status_name(expected),
             keepsake_status_name(got), error ? keepsake_error_message(error) : "(no error)");
    } else if (got != KEEPSAKE_STATUS_OK &&
               (error == NULL || keepsake_error_status(error) != got ||
                strlen(keepsake_error_message(error)) == 0)) {
        fail("%s: the error object does not match its status", what);
    }
    keepsake_error_free(error);
}

/* Stops unless a call succeeded. */
static void must(const char *what, KeepsakeStatus status, KeepsakeError *error) {
    if (status != KEEPSAKE_STATUS_OK) {
        die("%s: %s: %s", what, keepsake_status_name(status),
            error ? keepsake_error_message(error) : "");
    }
}

/* Runs `call`, which may store an error in `err`, and checks its status.
 * (A macro, so that `err` is read after the call has set it.) */
#define EXPECT(what, expected, call)                                                     \
    do {                                                                                 \
        KeepsakeError *err = NULL;                                                       \
        KeepsakeStatus got_ = (call);                                                    \
        expect_status((what), got_, (expected), err);                                    \
    } while (0)

/* Runs `call`, which may store an error in `err`, and stops unless it succeeded. */
#define MUST(what, call)                                                                 \
    do {                                                                                 \
        KeepsakeError *err = NULL;                                                       \
        KeepsakeStatus got_ = (call);                                                    \
        must((what), got_, err);                                                         \
    } while (0)

#endif
