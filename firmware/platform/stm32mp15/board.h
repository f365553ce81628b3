/*
 * STM32MP15x Cortex-M4 (MCU) board constants. Sources: Linux drivers/mailbox/stm32-ipcc.c and
 * the st,stm32mp1-ipcc binding (IPCC register layout, channel use by stm32_rproc), ST's
 * STM32MP15 device tree (IPCC at 0x4C001000, MCU SRAM and RETRAM addresses), the M4's
 * vendor headers (IPCC RX interrupt number). See README.md for what was checked against what.
 */
#ifndef XS_RPMSG_STM32MP15_BOARD_H
#define XS_RPMSG_STM32MP15_BOARD_H

#include <stdint.h>

/* Interrupts of the M4's NVIC (150 lines) and the one the doorbell uses: IPCC_RX1 ("receive
   channel occupied" for processor 2, the M4). */
#define BOARD_IRQ_COUNT 150
#define BOARD_DOORBELL_IRQ 103

/* MCU clock as TF-A/U-Boot leave it on STM32MP157 boards (mcuss_ck 209 MHz). */
#define BOARD_CORE_HZ 209000000u

/* IPCC: processor 1 = Cortex-A7 (Linux), processor 2 = this M4. Per processor: CR (RXOIE bit 0,
   TXFIE bit 16), MR (CHnOM bits 0..5 mask "occupied", CHnFM bits 16..21 mask "free"), SCR
   (write CHnC bit n: clear my received channel n; CHnS bit 16+n: set my transmit channel n
   occupied), and the "to the other" status register (bit n: channel n occupied). */
typedef struct {
	volatile uint32_t C1CR;     /* +0x00 */
	volatile uint32_t C1MR;     /* +0x04 */
	volatile uint32_t C1SCR;    /* +0x08 */
	volatile uint32_t C1TOC2SR; /* +0x0C: A7 -> M4 channel occupied */
	volatile uint32_t C2CR;     /* +0x10 */
	volatile uint32_t C2MR;     /* +0x14 */
	volatile uint32_t C2SCR;    /* +0x18 */
	volatile uint32_t C2TOC1SR; /* +0x1C: M4 -> A7 channel occupied */
} stm32_ipcc;

#define STM32_IPCC ((stm32_ipcc*)0x4C001000u)
#define STM32_IPCC_CR_RXOIE (1u << 0)
#define STM32_IPCC_CHANNELS 6u

/* stm32_rproc's mailboxes (ST's DT: mboxes = <&ipcc 0>, <&ipcc 1>, <&ipcc 2>; "vq0", "vq1",
   "shutdown"): Linux kicks vring n on channel n and listens on the same channel; channel 2 is
   Linux asking the M4 to stop; newer kernels also use channel 3 ("detach"), left masked here.
   Our notifyids are the ones Linux assigns (0, 1). */
#define STM32_IPCC_SHUTDOWN_CHANNEL 2u

void xs_board_doorbell_init(void);
void xs_rproc_kicked(void);

#endif
