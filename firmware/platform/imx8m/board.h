/*
 * i.MX8M Mini Cortex-M4 board constants. Sources: Linux drivers/mailbox/imx-mailbox.c (MU
 * register layout of the i.MX6SX/7/8M generation: TR0-3, RR0-3, SR, CR; RFn/TEn/RIEn bit
 * numbering), drivers/remoteproc/imx_rproc.c (kick = vqid << 16 on the "tx" channel) and NXP's
 * imx8mm-evk rpmsg device tree (mboxes <&mu 0 1>, <&mu 1 1>: channel 1 both ways; vrings at
 * 0xb8000000), NXP's MCUXpresso SDK (MU_B at 0x30AB0000 from the M4, its IRQ number, the
 * cm4 "ddr_ram" link target). See README.md for what was checked against what.
 */
#ifndef XS_RPMSG_IMX8M_BOARD_H
#define XS_RPMSG_IMX8M_BOARD_H

#include <stdint.h>

#define BOARD_IRQ_COUNT 128
#define BOARD_DOORBELL_IRQ 97 /* MU_M4 */

/* M4 core clock as the A53 side's boot firmware sets it on i.MX8MM (400 MHz). */
#define BOARD_CORE_HZ 400000000u

typedef struct {
	volatile uint32_t TR[4]; /* +0x00: transmit (to the A53 side's RR) */
	volatile uint32_t RR[4]; /* +0x10: receive (from the A53 side's TR); reading clears RFn */
	volatile uint32_t SR;    /* +0x20: GIPn bits 31-28, RFn bits 27-24, TEn bits 23-20 (n = 0 at the high bit) */
	volatile uint32_t CR;    /* +0x24: GIEn bits 31-28, RIEn bits 27-24, TIEn bits 23-20, GIRn bits 19-16 */
} imx_mu;

#define IMX_MU_B ((imx_mu*)0x30AB0000u)
#define IMX_MU_SR_RF(n) (1u << (24 + (3 - (n))))
#define IMX_MU_SR_TE(n) (1u << (20 + (3 - (n))))
#define IMX_MU_CR_RIE(n) (1u << (24 + (3 - (n))))

/* The channel imx_rproc uses in both directions; the message is the vring index << 16. */
#define IMX_MU_RPMSG_CHANNEL 1u

void xs_board_doorbell_init(void);
void xs_rproc_kicked(void);

#endif
