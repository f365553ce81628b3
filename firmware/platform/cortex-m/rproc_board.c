/*
 * The board seam (xs_board.h) for a Cortex-M4 remote processor under Linux remoteproc
 * (stm32mp15, imx8m): the console goes to the resource table's trace buffer (Linux shows it in
 * /sys/kernel/debug/remoteproc/remoteprocN/trace0), SysTick at 1 kHz from the core clock, WFI
 * idle, the shared window over the memory Linux places the vrings in. The doorbell is the
 * board's (board.c: IPCC on STM32MP15, MU on i.MX8M): it calls xs_rproc_kicked() from its
 * interrupt and implements xs_board_notify.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "xs_board.h"
#include "cortex_m.h"
#include "board.h"

extern uint8_t __c_stack_guard[];
extern uint8_t __resource_table_start[], __shared_window_start[], __shared_window_size[];
extern char __trace_start[], __trace_end[];

static xs_board_window window;

/* ------------------------------------------------------------------ console: the trace buffer */

static size_t trace_position = 0;

void xs_board_console_write(const char* text, size_t length)
{
	size_t size = (size_t)(__trace_end - __trace_start);
	if (size < 2)
		return;
	while (length--) {
		if (trace_position >= size - 1) /* full: start over (Linux reads up to the first NUL) */
			trace_position = 0;
		__trace_start[trace_position++] = *text++;
		__trace_start[trace_position] = 0;
	}
}

/* ------------------------------------------------------------------ doorbell (board.c rings, we keep the flag) */

static volatile uint32_t kick_pending = 0;

void xs_rproc_kicked(void)
{
	kick_pending = 1;
}

bool xs_board_take_kick(void)
{
	uint32_t primask = cortex_m_irq_save();
	uint32_t kicked = kick_pending;
	kick_pending = 0;
	cortex_m_irq_restore(primask);
	cortex_m_dmb(); /* what the host wrote before ringing is visible after this */
	return kicked != 0;
}

/* ------------------------------------------------------------------ clock: SysTick */

static volatile uint32_t milliseconds = 0;

void xs_cortex_m_tick(void)
{
	milliseconds++;
}

static void clock_init(void)
{
	CORTEX_M_SYSTICK->RVR = (BOARD_CORE_HZ / 1000u) - 1u;
	CORTEX_M_SYSTICK->CVR = 0;
	CORTEX_M_SYSTICK->CSR = 7u; /* core clock, interrupt, enable */
}

double xs_board_now(void)
{
	uint32_t before, count, after;
	do {
		before = milliseconds;
		count = CORTEX_M_SYSTICK->CVR;
		after = milliseconds;
	} while (before != after);
	uint32_t reload = CORTEX_M_SYSTICK->RVR + 1u;
	return (double)before + (double)(reload - count) / (double)reload;
}

void xs_board_wait(double deadline)
{
	for (;;) {
		uint32_t primask = cortex_m_irq_save();
		if (kick_pending || (xs_board_now() >= deadline)) {
			cortex_m_irq_restore(primask);
			return;
		}
		__asm volatile("wfi"); /* wakes on a pending interrupt even with PRIMASK set */
		cortex_m_irq_restore(primask);
	}
}

/* ------------------------------------------------------------------ memory, exit */

char* xs_board_c_stack_limit(void)
{
	return (char*)__c_stack_guard;
}

const xs_board_window* xs_board_get_window(void)
{
	return &window;
}

void xs_board_exit(int status)
{
	(void)status; /* the crash record (xs_platform_crash) and the trace tell Linux why */
	for (;;)
		__asm volatile("cpsid i\n wfi" ::: "memory");
}

int main(void)
{
	clock_init();
	window.memory = __shared_window_start;
	window.memory_size = (uint32_t)(uintptr_t)__shared_window_size;
	window.memory_base = (uint32_t)(uintptr_t)__shared_window_start;
	window.resource_table_offset = (uint32_t)(__resource_table_start - __shared_window_start);
	xs_board_doorbell_init();
	xs_platform_main();
}

/* extend_platform, deliver_event, deliver_reset: none on these boards, board_hooks.c */
