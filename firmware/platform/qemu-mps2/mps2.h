/*
 * Registers of the mps2-an385 peripherals the firmware uses: CMSDK APB UART0/UART1,
 * SysTick, NVIC, SCB. (QEMU models them; the same map holds on the FPGA board.)
 */
#ifndef XS_RPMSG_MPS2_H
#define XS_RPMSG_MPS2_H

#include <stdint.h>

/** CMSDK APB UART. */
typedef struct {
	volatile uint32_t DATA;      /* +0x00 */
	volatile uint32_t STATE;     /* +0x04: bit0 TX full, bit1 RX full, bit2 TX overrun, bit3 RX overrun */
	volatile uint32_t CTRL;      /* +0x08: bit0 TX enable, bit1 RX enable, bit2 TX IRQ, bit3 RX IRQ */
	volatile uint32_t INTSTATUS; /* +0x0C: read status, write 1 to clear (bit0 TX, bit1 RX) */
	volatile uint32_t BAUDDIV;   /* +0x10: QEMU wants >= 16 */
} mps2_uart;

#define MPS2_UART0 ((mps2_uart*)0x40004000u)
#define MPS2_UART1 ((mps2_uart*)0x40005000u)
#define MPS2_UART_STATE_TX_FULL 1u
#define MPS2_UART_STATE_RX_FULL 2u
#define MPS2_UART_CTRL_TX_ENABLE 1u
#define MPS2_UART_CTRL_RX_ENABLE 2u
#define MPS2_UART_CTRL_RX_IRQ 8u
#define MPS2_UART_INT_RX 2u
#define MPS2_UART1_RX_IRQ 2u

/** SysTick. */
typedef struct {
	volatile uint32_t CSR;   /* bit0 enable, bit1 tick interrupt, bit2 processor clock, bit16 countflag */
	volatile uint32_t RVR;
	volatile uint32_t CVR;
	volatile uint32_t CALIB;
} mps2_systick;
#define MPS2_SYSTICK ((mps2_systick*)0xE000E010u)

/** System control block (the registers the fault report reads). */
typedef struct {
	volatile uint32_t CPUID, ICSR, VTOR, AIRCR, SCR, CCR;
	volatile uint8_t SHP[12];
	volatile uint32_t SHCSR, CFSR, HFSR, DFSR, MMFAR, BFAR, AFSR;
} mps2_scb;
#define MPS2_SCB ((mps2_scb*)0xE000ED00u)
#define MPS2_SCB_ICSR_PENDSTSET (1u << 26)

#define MPS2_NVIC_ISER0 (*(volatile uint32_t*)0xE000E100u)
#define MPS2_NVIC_ICPR0 (*(volatile uint32_t*)0xE000E280u)

/* The an385 CPU clock that drives SysTick (QEMU: SYSCLK 25 MHz). */
#define MPS2_CPU_HZ 25000000u

#endif /* XS_RPMSG_MPS2_H */
