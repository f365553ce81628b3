/*
 * Start-up for mps2-an385 (Cortex-M3): vector table, reset (copy .data, clear .bss),
 * and the fault handler that prints the registers and ends the firmware with a failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "xs_board.h"
#include "mps2.h"
#include "xs_footprint.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top, __stack_limit;
extern int main(void);

void Reset_Handler(void) __attribute__((noreturn));
void HardFault_Handler(void) __attribute__((naked));
void Default_Handler(void);
void SysTick_Handler(void);
void UART1_RX_Handler(void);

typedef void (*vector)(void);

/* 16 system exceptions + 32 interrupts of the an385 */
__attribute__((section(".vectors"), used))
const vector vector_table[16 + 32] = {
	(vector)&__stack_top,
	Reset_Handler,
	Default_Handler,   /* NMI */
	HardFault_Handler,
	HardFault_Handler, /* MemManage (disabled: escalates to HardFault) */
	HardFault_Handler, /* BusFault */
	HardFault_Handler, /* UsageFault */
	0, 0, 0, 0,
	Default_Handler,   /* SVCall */
	Default_Handler,   /* DebugMonitor */
	0,
	Default_Handler,   /* PendSV */
	SysTick_Handler,
	/* IRQ 0.. */
	Default_Handler,   /* 0 UART0 RX */
	Default_Handler,   /* 1 UART0 TX */
	UART1_RX_Handler,  /* 2 UART1 RX: the doorbell */
	Default_Handler,   /* 3 UART1 TX */
	[16 + 4 ... 16 + 31] = Default_Handler,
};

void Reset_Handler(void)
{
	/* Paint the C stack below this frame (xs_footprint.h: the high-water mark is measured against it). */
	uint32_t* paint = &__stack_limit;
	uint32_t* frame = (uint32_t*)__builtin_frame_address(0) - 16;
	while (paint < frame)
		*paint++ = XS_STACK_PAINT;
	uint32_t* source = &__data_load;
	uint32_t* destination = &__data_start;
	while (destination < &__data_end)
		*destination++ = *source++;
	for (destination = &__bss_start; destination < &__bss_end; destination++)
		*destination = 0;
	main();
	xs_board_exit(0);
}

void Default_Handler(void)
{
	uint32_t active = MPS2_SCB->ICSR & 0x1FF;
	char reason[64];
	snprintf(reason, sizeof(reason), "unexpected exception %lu", (unsigned long)active);
	xs_platform_crash(XS_CRASH_EXIT_FAULT, reason);
}

/* Called with the exception frame {r0, r1, r2, r3, r12, lr, pc, xpsr} the CPU stacked. */
__attribute__((used)) void hard_fault_report(uint32_t* frame, uint32_t exc_return)
{
	char line[200];
	uint32_t cfsr = MPS2_SCB->CFSR, hfsr = MPS2_SCB->HFSR;
	snprintf(line, sizeof(line),
		"HardFault: pc=0x%08lx lr=0x%08lx xpsr=0x%08lx r0=0x%08lx r1=0x%08lx r2=0x%08lx r3=0x%08lx r12=0x%08lx\n",
		(unsigned long)frame[6], (unsigned long)frame[5], (unsigned long)frame[7], (unsigned long)frame[0],
		(unsigned long)frame[1], (unsigned long)frame[2], (unsigned long)frame[3], (unsigned long)frame[4]);
	xs_board_console_write(line, strlen(line));
	snprintf(line, sizeof(line), "HardFault: cfsr=0x%08lx hfsr=0x%08lx mmfar=0x%08lx bfar=0x%08lx sp=0x%08lx exc_return=0x%08lx\n",
		(unsigned long)cfsr, (unsigned long)hfsr, (unsigned long)MPS2_SCB->MMFAR, (unsigned long)MPS2_SCB->BFAR,
		(unsigned long)(uintptr_t)(frame + 8), (unsigned long)exc_return);
	xs_board_console_write(line, strlen(line));
	snprintf(line, sizeof(line), "hard fault at pc=0x%08lx (cfsr=0x%08lx hfsr=0x%08lx)",
		(unsigned long)frame[6], (unsigned long)cfsr, (unsigned long)hfsr);
	xs_platform_crash(XS_CRASH_EXIT_FAULT, line);
}

void HardFault_Handler(void)
{
	__asm volatile(
		"tst lr, #4\n"
		"ite eq\n"
		"mrseq r0, msp\n"
		"mrsne r0, psp\n"
		"mov r1, lr\n"
		"b hard_fault_report\n");
}

/* newlib-nano with -nostartfiles */
void _init(void) {}
void _fini(void) {}
