/*
 * ARMv7-M system registers every Cortex-M board uses (ARMv7-M Architecture Reference Manual,
 * B3.2 System Control Space: SCB at 0xE000ED00, SysTick at 0xE000E010, NVIC at 0xE000E100,
 * CPACR at 0xE000ED88), and the board contract of the shared start-up (startup.c, vectors.c).
 */
#ifndef XS_RPMSG_CORTEX_M_H
#define XS_RPMSG_CORTEX_M_H

#include <stdint.h>

typedef struct {
	volatile uint32_t CSR;   /* +0x0: bit0 ENABLE, bit1 TICKINT, bit2 CLKSOURCE (core clock) */
	volatile uint32_t RVR;   /* +0x4: reload value (24 bits) */
	volatile uint32_t CVR;   /* +0x8: current value */
	volatile uint32_t CALIB; /* +0xC */
} cortex_m_systick;
#define CORTEX_M_SYSTICK ((cortex_m_systick*)0xE000E010u)

#define CORTEX_M_NVIC_ISER ((volatile uint32_t*)0xE000E100u) /* set-enable, 32 IRQs per word */
#define CORTEX_M_NVIC_ICPR ((volatile uint32_t*)0xE000E280u) /* clear-pending */
#define CORTEX_M_NVIC_IPR ((volatile uint8_t*)0xE000E400u)   /* priority, one byte per IRQ */
#define CORTEX_M_SCB_ICSR (*(volatile uint32_t*)0xE000ED04u)
#define CORTEX_M_SCB_VTOR (*(volatile uint32_t*)0xE000ED08u)
#define CORTEX_M_SCB_CFSR (*(volatile uint32_t*)0xE000ED28u)
#define CORTEX_M_SCB_HFSR (*(volatile uint32_t*)0xE000ED2Cu)
#define CORTEX_M_SCB_MMFAR (*(volatile uint32_t*)0xE000ED34u)
#define CORTEX_M_SCB_BFAR (*(volatile uint32_t*)0xE000ED38u)
#define CORTEX_M_CPACR (*(volatile uint32_t*)0xE000ED88u) /* CP10/CP11 full access: bits 20-23 */

static inline void cortex_m_enable_irq(unsigned irq)
{
	CORTEX_M_NVIC_ICPR[irq >> 5] = 1u << (irq & 31);
	CORTEX_M_NVIC_ISER[irq >> 5] = 1u << (irq & 31);
}

static inline void cortex_m_dmb(void)
{
	__asm volatile("dmb" ::: "memory");
}

static inline uint32_t cortex_m_irq_save(void)
{
	uint32_t primask;
	__asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask) :: "memory");
	return primask;
}

static inline void cortex_m_irq_restore(uint32_t primask)
{
	__asm volatile("msr primask, %0" :: "r"(primask) : "memory");
}

/* ---- the board's side of the shared start-up (boards without their own startup.c) ---- */

/** Called by Reset_Handler once .data and .bss are set up; runs the firmware, never returns. */
extern int main(void);
/** 1 kHz tick (board.c), from the shared SysTick vector. */
void xs_cortex_m_tick(void);
/** The doorbell interrupt handler of the board (board.c), at vector 16 + BOARD_DOORBELL_IRQ. */
void Doorbell_IRQHandler(void);

#endif
