/*
 * XS platform header for every xs-rpmsg XS build (qemu-mps2 bare metal, posix native).
 * Passed to the engine as -DXSPLATFORM="xs_platform.h" -DINCLUDE_XSPLATFORM; xsPlatform.h
 * includes it before its own defaults, so whatever is defined here wins.
 */
#ifndef XS_RPMSG_XS_PLATFORM_H
#define XS_RPMSG_XS_PLATFORM_H

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

/* With XSPLATFORM defined, XS treats every target (also the posix one on Linux) as an
   unknown platform: one machine, one thread, no pthreads, no GCC 64-bit atomics. */

#define XS_FUNCTION_NORETURN __attribute__((noreturn))

/* Per-machine fields the event loop needs (see xs_platform.c). */
#define mxMachinePlatform \
	void* waiterCondition; \
	void* waiterData; \
	void* waiterLink; \
	int promiseJobs;

/* Module paths only (no file system): newlib has no PATH_MAX. */
#define C_PATH_MAX 256

#define mxUseDefaultMachinePlatform 1
/* fxBuildKeys is ours (xs_build_keys.h): the predefined names stay in read-only data */
#define mxUseDefaultBuildKeys 0
#define mxUseDefaultFindModule 1
#define mxUseDefaultLoadModule 1
#define mxUseDefaultSharedChunks 1
/* Check the JS stack and the C stack (fxCheckCStack against fxCStackLimit) on every push
   and call. Without mxDebug the engine turns both checks off: an unbounded recursion would
   then run over memory instead of ending with "stack overflow". */
#define mxBoundsCheck 1
/* The engine's default C-stack limit is NULL on an unknown platform (no check at all). */
#define mxUseDefaultCStackLimit 0
/* Supplied by xs_platform.c: fxAbort (reports the reason, then crashes the firmware),
   fxQueuePromiseJobs (the event loop drains them), fxCStackLimit (from the target),
   fxAllocateChunks/fxAllocateSlots (counted, so the firmware can report its heap),
   fxParseScript (syntax errors printed with their line on the console). */

/* Engine console output (parse errors, "# Chunk allocation failed", ...) goes to the
   target's console instead of stdio. */
extern int xs_platform_printf(const char* format, ...);
extern int xs_platform_vprintf(const char* format, va_list arguments);
#define c_printf xs_platform_printf
#define c_vprintf xs_platform_vprintf

#endif /* XS_RPMSG_XS_PLATFORM_H */
