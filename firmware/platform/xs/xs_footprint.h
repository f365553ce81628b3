/*
 * Footprint figures the firmware reports at run time (docs/PLATFORM.md "Footprint"): XS heap in
 * use and its peak, what XS took from malloc, the malloc high-water mark and the C stack
 * high-water mark (stack painted at reset). The last two come from the board's hooks in
 * xs_board.h (XS_BOARD_FIGURE_UNKNOWN where it cannot tell: posix).
 */
#ifndef XS_RPMSG_XS_FOOTPRINT_H
#define XS_RPMSG_XS_FOOTPRINT_H

#include <stddef.h>

struct sxMachine;
struct sxSlot;

/** Value written over the C stack at reset (xs_board_stack_high_water looks for the first word changed). */
#define XS_STACK_PAINT 0x5AC5A5C5u


/** Bytes XS took from malloc for chunks and slots (xs_platform.c's allocation hooks count them). */
size_t xs_footprint_xs_taken(void);
void xs_footprint_count(long bytes);

/** "xs: footprint <when>: ..." on the console. */
void xs_footprint_report(struct sxMachine* the, const char* when);

/** Adds peak, taken, mallocPeak, stackPeak, stackSize (bytes; -1 = not known) to `object` (platform.heap()). */
void xs_footprint_define(struct sxMachine* the, struct sxSlot* object);

#endif
