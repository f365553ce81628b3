/*
 * Footprint hooks of every Cortex-M board (xs_footprint.h): the C stack, between the linker
 * symbols __stack_limit and __stack_top, is painted with XS_STACK_PAINT by Reset_Handler; the
 * high-water mark is the lowest word no longer holding it. The malloc high-water mark is the
 * highest break _sbrk (sbrk.c) ever gave.
 */
#include <stddef.h>
#include <stdint.h>
#include "xs_board.h"
#include "xs_footprint.h"

extern uint32_t __stack_limit[], __stack_top[];
extern uint8_t __heap_start[];
extern uint8_t* xs_board_heap_peak(void);

size_t xs_board_stack_size(void)
{
	return (size_t)((uint8_t*)__stack_top - (uint8_t*)__stack_limit);
}

size_t xs_board_stack_high_water(void)
{
	const uint32_t* word = __stack_limit;
	while ((word < __stack_top) && (*word == XS_STACK_PAINT))
		word++;
	return (size_t)((uint8_t*)__stack_top - (uint8_t*)word);
}

size_t xs_board_malloc_high_water(void)
{
	return (size_t)(xs_board_heap_peak() - __heap_start);
}
