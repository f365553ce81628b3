/*
 * The JS side of the vhost-user capability (docs/LINUX.md "Seam"), for a board that serves
 * vhost-user (posix main.c with --vhost-user): it calls these from its xs_board_extend_platform
 * xs_board_deliver_event and xs_board_deliver_reset hooks while vhost_user_board_active(). Nothing here calls the
 * XS platform layer; console text goes through xs_board_console_write.
 */
#ifndef XS_RPMSG_XS_VHOST_USER_H
#define XS_RPMSG_XS_VHOST_USER_H

#include <stdbool.h>

struct sxMachine;
struct sxSlot;

/** Marks `*platform` as a vhost-user transport: transport, onDeviceReady, onDeviceReset, and a copy() over the device's region. */
void xs_vhost_user_install(struct sxMachine* the, struct sxSlot* platform);

/** Delivers the oldest pending device event as platform.onDeviceReady(info) / onDeviceReset(reason); true if there was one. */
bool xs_vhost_user_deliver(struct sxMachine* machine, struct sxSlot* platform);

/** While a send blocks: delivers a pending device reset now (or, for a pending new device, onDeviceReset for the old one); true if it called JS. */
bool xs_vhost_user_deliver_reset(struct sxMachine* machine, struct sxSlot* platform);

#endif /* XS_RPMSG_XS_VHOST_USER_H */
