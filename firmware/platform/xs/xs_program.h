/*
 * The program an image runs: precompiled byte code (xs_program_bytecode.c, the default; no
 * parser linked) or the bundled JS parsed at boot (xs_program_source.c). tools/build-firmware.ts
 * links one of the two.
 */
#ifndef XS_RPMSG_XS_PROGRAM_H
#define XS_RPMSG_XS_PROGRAM_H

#include "xsAll.h"

/** "bytecode" or "script" (the boot line prints it). */
extern const char xs_program_kind[];

/** Bytes of the program in the image (code, or JS text). */
size_t xs_program_size(void);

/** Called right after xsCreateMachine, before anything else makes a name (inside xsBeginHost). */
void xs_program_prepare(txMachine* the);

/** Runs the program's top level (inside xsBeginHost); the result is popped. */
void xs_program_run(txMachine* the);

/* Debug images: the debugger logs in right after xs_program_prepare, since its breakpoints make names (xs_debug.h); nothing in release images. */
#ifdef mxDebug
#include "xs_debug.h"
#define XS_DEBUG_LOGIN(the) xs_debug_login(the)
#else
#define XS_DEBUG_LOGIN(the)
#endif

#endif
