/*
 * The platform hooks of xs_board.h for every Cortex-M board (qemu-mps2, stm32mp15, imx8m): none of
 * them adds members to `platform` or has device events; the shared window and the host's kicks
 * are the whole transport, and a host reset shows in the resource table's status byte.
 */
#include <stdbool.h>
#include "xs_board.h"

/* No board members beyond what the core defines. */
void xs_board_extend_platform(struct sxMachine* the, struct sxSlot* platform)
{
	(void)the;
	(void)platform;
}

/* No device events: the host's kicks are all there is. */
bool xs_board_deliver_event(struct sxMachine* machine, struct sxSlot* platform)
{
	(void)machine;
	(void)platform;
	return false;
}

/* No device resets to deliver: a host reset shows in the status byte. */
bool xs_board_deliver_reset(struct sxMachine* machine, struct sxSlot* platform)
{
	(void)machine;
	(void)platform;
	return false;
}
