/*
 * Start-up of the Cortex-M4F boards (stm32mp15, imx8m): paint the C stack (footprint.c), copy
 * .data, clear .bss, turn the FPU on (the image is built -mfloat-abi=hard), run main; the
 * fault handlers report through xs_platform_crash (console + crash record). The same steps as
 * qemu-mps2/startup.c, which keeps its own table for the an385's interrupts.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "xs_board.h"
#include "xs_footprint.h"
#include "cortex_m.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_limit;

void Reset_Handler(void) __attribute__((noreturn));
void HardFault_Handler(void) __attribute__((naked));

void Reset_Handler(void)
{
	uint32_t* paint = &__stack_limit;
	uint32_t* frame = (uint32_t*)__builtin_frame_address(0) - 16;
	while (paint < frame)
		*paint++ = XS_STACK_PAINT;
	uint32_t* source = &__data_load;
	uint32_t* destination = &__data_start;
	if (source != destination) /* images loaded by remoteproc may have .data in place already */
		while (destination < &__data_end)
			*destination++ = *source++;
	for (destination = &__bss_start; destination < &__bss_end; destination++)
		*destination = 0;
	CORTEX_M_CPACR |= 0xFu << 20;
	__asm volatile("dsb\n isb" ::: "memory");
	main();
	xs_board_exit(0);
}

void Default_Handler(void)
{
	char reason[64];
	snprintf(reason, sizeof(reason), "unexpected exception %lu", (unsigned long)(CORTEX_M_SCB_ICSR & 0x1FF));
	xs_platform_crash(XS_CRASH_EXIT_FAULT, reason);
}

__attribute__((used)) void cortex_m_fault_report(uint32_t* frame, uint32_t exc_return)
{
	char line[160];
	snprintf(line, sizeof(line), "hard fault at pc=0x%08lx lr=0x%08lx (cfsr=0x%08lx hfsr=0x%08lx bfar=0x%08lx exc_return=0x%08lx)",
		(unsigned long)frame[6], (unsigned long)frame[5], (unsigned long)CORTEX_M_SCB_CFSR, (unsigned long)CORTEX_M_SCB_HFSR,
		(unsigned long)CORTEX_M_SCB_BFAR, (unsigned long)exc_return);
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
		"b cortex_m_fault_report\n");
}

void _init(void) {}
void _fini(void) {}
