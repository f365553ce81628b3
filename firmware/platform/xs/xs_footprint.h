/*
 * Footprint figures the firmware reports at run time (docs/PLATFORM.md "Footprint"): XS heap in
 * use and its peak, what XS took from malloc, the malloc high-water mark and the C stack
 * high-water mark (stack painted at reset). The last two come from the board when it can tell
 * (weak hooks; qemu-mps2 does, posix does not).
 */
#ifndef XS_RPMSG_XS_FOOTPRINT_H
#define XS_RPMSG_XS_FOOTPRINT_H

#include <stddef.h>

struct sxMachine;
struct sxSlot;

/** Value written over the C stack at reset (xs_board_stack_high_water looks for the first word changed). */
#define XS_STACK_PAINT 0x5AC5A5C5u

/** Bytes of RAM the allocator took from the heap at most (sbrk high-water); board hook, may be absent. */
__attribute__((weak)) size_t xs_board_malloc_high_water(void);
/** Bytes of C stack ever used (painted stack), and the stack's size; board hooks, may be absent. */
__attribute__((weak)) size_t xs_board_stack_high_water(void);
__attribute__((weak)) size_t xs_board_stack_size(void);

/** Bytes XS took from malloc for chunks and slots (xs_platform.c's allocation hooks count them). */
size_t xs_footprint_xs_taken(void);
void xs_footprint_count(long bytes);

/** "xs: footprint <when>: ..." on the console. */
void xs_footprint_report(struct sxMachine* the, const char* when);

/** Adds peak, taken, mallocPeak, stackPeak, stackSize (bytes; -1 = not known) to `object` (platform.heap()). */
void xs_footprint_define(struct sxMachine* the, struct sxSlot* object);

#endif
