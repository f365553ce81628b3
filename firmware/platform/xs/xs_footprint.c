/* See xs_footprint.h. */
#include "xsAll.h"
#include "xs.h"
#include "xs_board.h"
#include "xs_footprint.h"

/* XS never gives a block back before the machine is deleted: what it took is also its peak */
static size_t taken = 0;

void xs_footprint_count(long bytes)
{
	taken = (size_t)((long)taken + bytes);
}

size_t xs_footprint_xs_taken(void)
{
	return taken;
}

static long board_figure(size_t (*hook)(void))
{
	size_t figure = hook();
	return (figure == XS_BOARD_FIGURE_UNKNOWN) ? -1 : (long)figure;
}

void xs_footprint_report(txMachine* the, const char* when)
{
	xs_platform_printf("xs: footprint %s: xs heap %ld in use, %ld peak (slots %ld/%ld, chunks %ld/%ld); xs took %ld from malloc; malloc high-water %ld; C stack high-water %ld of %ld\n",
		when,
		(long)(the->currentHeapCount * sizeof(txSlot) + the->currentChunksSize),
		(long)(the->peakHeapCount * sizeof(txSlot) + the->peakChunksSize),
		(long)(the->currentHeapCount * sizeof(txSlot)), (long)(the->peakHeapCount * sizeof(txSlot)),
		(long)the->currentChunksSize, (long)the->peakChunksSize,
		(long)taken,
		board_figure(xs_board_malloc_high_water),
		board_figure(xs_board_stack_high_water), board_figure(xs_board_stack_size));
}

void xs_footprint_define(txMachine* the, txSlot* object)
{
	xsSet(*object, xsID("peak"), xsInteger((xsIntegerValue)(the->peakHeapCount * sizeof(txSlot) + the->peakChunksSize)));
	xsSet(*object, xsID("taken"), xsInteger((xsIntegerValue)taken));
	xsSet(*object, xsID("mallocPeak"), xsInteger((xsIntegerValue)board_figure(xs_board_malloc_high_water)));
	xsSet(*object, xsID("stackPeak"), xsInteger((xsIntegerValue)board_figure(xs_board_stack_high_water)));
	xsSet(*object, xsID("stackSize"), xsInteger((xsIntegerValue)board_figure(xs_board_stack_size)));
}
