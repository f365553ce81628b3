/*
 * The debugger connection of debug images (xs_debug_posix.c, xs_debug_mps2.c; built only with
 * mxDebug). The engine would connect inside xsCreateMachine (fxLogin), but the breakpoints the
 * debugger sends at login make names, and the byte code's IDs require the program's names to be
 * registered first (xs_program_prepare): so fxConnect does nothing until xs_debug_login, which
 * xs_platform.c calls right after xs_program_prepare.
 */
#ifndef XS_RPMSG_XS_DEBUG_H
#define XS_RPMSG_XS_DEBUG_H

struct sxMachine;

/** Connects to the debugger if one is there, logs in and takes its breakpoints (blocks until it says go). */
void xs_debug_login(struct sxMachine* the);

#endif /* XS_RPMSG_XS_DEBUG_H */
