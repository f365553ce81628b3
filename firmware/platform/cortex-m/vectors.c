/*
 * The vector table of the Cortex-M boards without their own start-up (stm32mp15, imx8m): the
 * 16 ARMv7-M system exceptions, then BOARD_IRQ_COUNT interrupts (board.h), every one going to
 * Default_Handler except the doorbell at BOARD_DOORBELL_IRQ and SysTick.
 */
#include "cortex_m.h"
#include "board.h"

extern uint32_t __stack_top;
void Reset_Handler(void) __attribute__((noreturn));
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

typedef void (*vector)(void);

__attribute__((section(".vectors"), used))
const vector vector_table[16 + BOARD_IRQ_COUNT] = {
	(vector)&__stack_top,
	Reset_Handler,
	Default_Handler,   /* NMI */
	HardFault_Handler,
	HardFault_Handler, /* MemManage */
	HardFault_Handler, /* BusFault */
	HardFault_Handler, /* UsageFault */
	0, 0, 0, 0,
	Default_Handler,   /* SVCall */
	Default_Handler,   /* DebugMonitor */
	0,
	Default_Handler,   /* PendSV */
	SysTick_Handler,
	[16 ... 16 + BOARD_IRQ_COUNT - 1] = Default_Handler,
	[16 + BOARD_DOORBELL_IRQ] = Doorbell_IRQHandler,
};

void SysTick_Handler(void)
{
	xs_cortex_m_tick();
}
