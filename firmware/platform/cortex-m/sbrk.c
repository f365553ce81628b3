/*
 * The malloc heap of every Cortex-M board: newlib's _sbrk between the linker symbols
 * __heap_start and __heap_end, with the highest break ever given kept for the footprint
 * report (footprint.c: malloc high-water).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern uint8_t __heap_start[], __heap_end[];

static uint8_t* heap_top = __heap_start;
static uint8_t* heap_peak = __heap_start;

uint8_t* xs_board_heap_peak(void)
{
	return heap_peak;
}

void* _sbrk(ptrdiff_t increment)
{
	uint8_t* previous = heap_top;
	if ((increment > 0) && ((size_t)increment > (size_t)(__heap_end - heap_top))) {
		errno = ENOMEM;
		return (void*)-1;
	}
	heap_top += increment;
	if (heap_top > heap_peak)
		heap_peak = heap_top;
	return previous;
}
