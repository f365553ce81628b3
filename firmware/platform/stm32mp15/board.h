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

#ifndef STM32_IPCC /* test/platform/board-doorbell builds board.c on the host with a register block in RAM */
#define STM32_IPCC ((stm32_ipcc*)0x4C001000u)
#endif
#define STM32_IPCC_CR_RXOIE (1u << 0)
#define STM32_IPCC_CHANNELS 6u

/* stm32_rproc's mailboxes (ST's DT: mboxes = <&ipcc 0>, <&ipcc 1>, <&ipcc 2>, <&ipcc 3>; "vq0",
   "vq1", "shutdown", "detach"): Linux kicks vring n on channel n and listens on the same channel;
   channel 2 is Linux about to stop the M4 (stm32_rproc_stop), channel 3 Linux detaching while the
   M4 runs on (stm32_rproc_detach, newer kernels). Both are sent blocking: Linux waits for the
   channel to read free again (200 ms for detach, 500 ms for shutdown) and logs "remote FW ...
   without ack" if it does not. Our notifyids are the ones Linux assigns (0, 1). */
#define STM32_IPCC_SHUTDOWN_CHANNEL 2u
#define STM32_IPCC_DETACH_CHANNEL 3u
/* the channels this board takes: vq0, vq1, shutdown, detach */
#define STM32_IPCC_RX_CHANNELS ((1u << 0) | (1u << 1) | (1u << STM32_IPCC_SHUTDOWN_CHANNEL) | (1u << STM32_IPCC_DETACH_CHANNEL))

/* What Linux asked for besides kicks (board.c): a bit per request, read by stm32mp15_host_requests(). */
#define STM32_HOST_SHUTDOWN (1u << 0)
#define STM32_HOST_DETACH (1u << 1)
uint32_t stm32mp15_host_requests(void);

void xs_board_doorbell_init(void);
void xs_rproc_kicked(void);

#endif
