/*
 * i.MX8M M4 doorbell: the Messaging Unit, side B (board.h). The rest of the board seam is
 * shared with STM32MP15 (firmware/platform/cortex-m/rproc_board.c).
 */
#include <stdint.h>
#include "xs_board.h"
#include "cortex_m.h"
#include "board.h"

void xs_board_doorbell_init(void)
{
	IMX_MU_B->CR |= IMX_MU_CR_RIE(IMX_MU_RPMSG_CHANNEL);
	cortex_m_enable_irq(BOARD_DOORBELL_IRQ);
}

/* A message in RR1 is a kick (its value, the vring index << 16, does not matter: the runtime
   checks both vrings); reading RR1 empties it. */
void Doorbell_IRQHandler(void)
{
	int kicked = 0;
	while (IMX_MU_B->SR & IMX_MU_SR_RF(IMX_MU_RPMSG_CHANNEL)) {
		(void)IMX_MU_B->RR[IMX_MU_RPMSG_CHANNEL];
		kicked = 1;
	}
	cortex_m_dmb();
	if (kicked)
		xs_rproc_kicked();
}

/* Rings the A53 side: waits until TR1 is empty (the previous ring was read), writes notify_id << 16. */
void xs_board_notify(uint32_t notify_id)
{
	cortex_m_dmb();
	while (!(IMX_MU_B->SR & IMX_MU_SR_TE(IMX_MU_RPMSG_CHANNEL)))
		;
	IMX_MU_B->TR[IMX_MU_RPMSG_CHANNEL] = notify_id << 16;
}
