/*
 * The qemu-mps2 board under the XS platform layer: UART0 console, UART1 doorbell
 * (IRQ-driven: a received byte is a host kick, kicks merge; notify sends one byte whose
 * value is the notifyid), SysTick clock, WFI idle, semihosting exit, newlib hooks.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include "xs_board.h"
#include "mps2.h"

extern uint8_t __heap_start[], __heap_end[], __c_stack_guard[];
extern uint8_t __resource_table_start[], __shared_window_start[], __shared_window_size[];

static xs_board_window window;

/* ------------------------------------------------------------------ interrupts */

static inline uint32_t irq_save(void)
{
	uint32_t primask;
	__asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask) :: "memory");
	return primask;
}

static inline void irq_restore(uint32_t primask)
{
	__asm volatile("msr primask, %0" :: "r"(primask) : "memory");
}

/* ------------------------------------------------------------------ console: UART0 */

static void console_init(void)
{
	MPS2_UART0->BAUDDIV = 16;
	MPS2_UART0->CTRL = MPS2_UART_CTRL_TX_ENABLE;
}

/* How long this waits depends on how fast the host drains QEMU's stdio, not on the firmware: a
   function of its own, so the benchmark can leave it out of its exact counts (bench/echo-instructions.ts). */
static __attribute__((noinline)) void uart0_wait_while_tx_full(void)
{
	while (MPS2_UART0->STATE & MPS2_UART_STATE_TX_FULL)
		;
}

void xs_board_console_write(const char* text, size_t length)
{
	while (length--) {
		uart0_wait_while_tx_full();
		MPS2_UART0->DATA = (uint8_t)*text++;
	}
}

/* ------------------------------------------------------------------ doorbell: UART1 */

static volatile uint32_t kick_pending = 0;
static volatile uint32_t kicks_received = 0;

void UART1_RX_Handler(void)
{
	/* Clear the RX interrupt first, then drain every byte (kicks merge). Cleared after the
	   drain, a byte landing between the last STATE read and the INTSTATUS write would lose
	   its interrupt while RXFULL stays set, and QEMU's CMSDK UART (as the hardware) takes no
	   byte while RXFULL is set: the doorbell would be dead for the rest of the session.
	   Cleared first, such a byte raises the interrupt again and this handler runs once more. */
	do {
		MPS2_UART1->INTSTATUS = MPS2_UART_INT_RX;
		while (MPS2_UART1->STATE & MPS2_UART_STATE_RX_FULL) {
			(void)MPS2_UART1->DATA;
			kicks_received++;
			kick_pending = 1;
		}
	} while (MPS2_UART1->STATE & MPS2_UART_STATE_RX_FULL);
}

static void doorbell_init(void)
{
	MPS2_UART1->BAUDDIV = 16;
	MPS2_UART1->CTRL = MPS2_UART_CTRL_TX_ENABLE | MPS2_UART_CTRL_RX_ENABLE | MPS2_UART_CTRL_RX_IRQ;
	MPS2_NVIC_ICPR0 = 1u << MPS2_UART1_RX_IRQ;
	MPS2_NVIC_ISER0 = 1u << MPS2_UART1_RX_IRQ;
}

void xs_board_notify(uint32_t notify_id)
{
	while (MPS2_UART1->STATE & MPS2_UART_STATE_TX_FULL)
		;
	MPS2_UART1->DATA = (uint8_t)notify_id;
}

bool xs_board_take_kick(void)
{
	uint32_t primask = irq_save();
	bool kicked = kick_pending != 0;
	kick_pending = 0;
	irq_restore(primask);
	return kicked;
}

/* ------------------------------------------------------------------ clock: SysTick at 1 kHz */

#define TICK_RELOAD (MPS2_CPU_HZ / 1000u - 1u)
static volatile uint32_t milliseconds = 0;

void SysTick_Handler(void)
{
	milliseconds++;
}

static void clock_init(void)
{
	MPS2_SYSTICK->RVR = TICK_RELOAD;
	MPS2_SYSTICK->CVR = 0;
	MPS2_SYSTICK->CSR = 7; /* processor clock, interrupt, enable */
}

double xs_board_now(void)
{
	uint32_t primask = irq_save();
	uint32_t ms = milliseconds;
	uint32_t current = MPS2_SYSTICK->CVR;
	/* the counter wrapped but the tick interrupt has not run yet */
	if ((MPS2_SCB->ICSR & MPS2_SCB_ICSR_PENDSTSET) && (current > TICK_RELOAD / 2))
		ms++;
	irq_restore(primask);
	return (double)ms + (double)(TICK_RELOAD - current) / (double)(TICK_RELOAD + 1);
}

void xs_board_wait(double deadline)
{
	/* Sleep through the 1 ms ticks here, not in the XS loop: wake the loop only for a kick
	   or the deadline. cpsid; test; wfi; cpsie: an interrupt that arrives between the test
	   and wfi still ends wfi, so no kick is missed. */
	for (;;) {
		__asm volatile("cpsid i" ::: "memory");
		if (kick_pending || (xs_board_now() >= deadline)) {
			__asm volatile("cpsie i" ::: "memory");
			return;
		}
		__asm volatile("wfi" ::: "memory");
		__asm volatile("cpsie i" ::: "memory"); /* the pending interrupt runs here */
	}
}

/* ------------------------------------------------------------------ stop */

static volatile int exiting = 0;

void xs_board_exit(int status)
{
	if (!exiting) {
		exiting = 1;
		/* SYS_EXIT_EXTENDED (0x20): {ADP_Stopped_ApplicationExit, status} -> QEMU exits with status */
		volatile uint32_t block[2] = { 0x20026u, (uint32_t)status };
		register uint32_t r0 __asm("r0") = 0x20u;
		register uint32_t r1 __asm("r1") = (uint32_t)(uintptr_t)block;
		__asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
	}
	/* no semihosting (QEMU without -semihosting-config enable=on): halt here */
	for (;;)
		__asm volatile("cpsid i\n wfi" ::: "memory");
}

/* ------------------------------------------------------------------ memory */

char* xs_board_c_stack_limit(void)
{
	return (char*)__c_stack_guard;
}

const xs_board_window* xs_board_get_window(void)
{
	return &window;
}

/* _sbrk (the malloc heap between bss and the stack): firmware/platform/cortex-m/sbrk.c */

/* ------------------------------------------------------------------ platform hooks */

/* extend_platform, deliver_event, deliver_reset: none on this board, firmware/platform/cortex-m/board_hooks.c */

/* ------------------------------------------------------------------ newlib */

/* _write, _gettimeofday, _exit: firmware/platform/cortex-m/newlib.c */

/* ------------------------------------------------------------------ main */

int main(void)
{
	console_init();
	clock_init();
	window.memory = __shared_window_start;
	window.memory_size = (uint32_t)(uintptr_t)__shared_window_size;
	window.memory_base = (uint32_t)(uintptr_t)__shared_window_start;
	window.resource_table_offset = (uint32_t)(__resource_table_start - __shared_window_start);
	doorbell_init();
	xs_platform_main();
}
