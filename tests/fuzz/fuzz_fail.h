/*
 * fuzz_fail.h: how every harness breaks: a broken promise prints
 * "fuzz invariant broken: ..." and aborts, which libFuzzer reports as a crash
 * (and saves the input).
 */
#ifndef RAMPART_TESTS_FUZZ_FAIL_H
#define RAMPART_TESTS_FUZZ_FAIL_H

#include <stdio.h>
#include <stdlib.h>

#define FZ_FAIL(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "fuzz invariant broken: " __VA_ARGS__);                                    \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#endif
