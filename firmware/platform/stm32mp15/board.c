/*
 * STM32MP15x M4 doorbell: IPCC (board.h). The rest of the board seam is shared with i.MX8M
 * (firmware/platform/cortex-m/rproc_board.c).
 */
#include <stdint.h>
#include "xs_board.h"
#include "cortex_m.h"
#include "board.h"

static volatile uint32_t host_requests = 0;

uint32_t stm32mp15_host_requests(void)
{
	return host_requests;
}

void xs_board_doorbell_init(void)
{
	/* unmask "occupied" on the channels Linux rings (vq0, vq1, shutdown, detach), mask the rest,
	   enable the RX interrupt */
	STM32_IPCC->C2MR = (STM32_IPCC->C2MR | 0x3Fu) & ~STM32_IPCC_RX_CHANNELS;
	STM32_IPCC->C2CR |= STM32_IPCC_CR_RXOIE;
	cortex_m_enable_irq(BOARD_DOORBELL_IRQ);
}

/* IPCC_RX1: every unmasked channel Linux set occupied is taken at once: clearing it is the
   acknowledgement Linux's blocking send waits for. A vring kick (kicks merge) runs the runtime.
   So do shutdown and detach: Linux has already reset the virtio device (rproc_stop_subdevices
   comes before the mailbox message in both), so the runtime finds the status byte cleared and
   ends its endpoints now rather than at a later kick that may never come. */
void Doorbell_IRQHandler(void)
{
	uint32_t occupied = STM32_IPCC->C1TOC2SR & ~STM32_IPCC->C2MR & 0x3Fu;
	if (occupied & (1u << STM32_IPCC_SHUTDOWN_CHANNEL))
		host_requests |= STM32_HOST_SHUTDOWN;
	if (occupied & (1u << STM32_IPCC_DETACH_CHANNEL))
		host_requests |= STM32_HOST_DETACH;
	STM32_IPCC->C2SCR = occupied; /* CHnC */
	cortex_m_dmb();
	if (occupied & STM32_IPCC_RX_CHANNELS)
		xs_rproc_kicked();
}

/* Rings Linux on channel notify_id: waits until Linux took the previous ring on that channel
   (the channel reads free), then sets it occupied. The DMB orders the ring after every write
   the runtime made to the vrings. */
void xs_board_notify(uint32_t notify_id)
{
	uint32_t channel = notify_id % STM32_IPCC_CHANNELS;
	cortex_m_dmb();
	while (STM32_IPCC->C2TOC1SR & (1u << channel))
		;
	STM32_IPCC->C2SCR = 1u << (16 + channel); /* CHnS */
}
