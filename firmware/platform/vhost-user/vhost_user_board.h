/*
 * The vhost-user mode of a native XS remote (posix main.c with --vhost-user SOCKET): the board
 * functions of xs_board.h backed by vhost_user_backend.c, plus the device events (ready/reset)
 * that the XS platform layer turns into platform.onDeviceReady / platform.onDeviceReset.
 * One backend per process; no XS dependency here (xs_vhost_user.c does the JS side).
 */
#ifndef XS_RPMSG_VHOST_USER_BOARD_H
#define XS_RPMSG_VHOST_USER_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost_user_backend.h"

/** A device event waiting for the JS side, oldest first. */
typedef struct {
	enum { VHOST_USER_BOARD_READY = 1, VHOST_USER_BOARD_RESET = 2 } kind;
	vhost_user_device device; /* READY: memory, memory_base, features, vrings (GPAs) */
	char reason[96];          /* RESET: why, for the log */
} vhost_user_board_event;

/** Listens on `socket_path` (UML connects to it). 0, or -1 with a message in `error`. */
int vhost_user_board_start(const char *socket_path, char *error, size_t error_size);

/** True once vhost_user_board_start succeeded: the board functions below are in charge. */
bool vhost_user_board_active(void);

/** xs_board_notify: `vring_index` (0 or 1) is the notify id the runtime got in onDeviceReady. */
void vhost_user_board_notify(uint32_t vring_index);

/** xs_board_take_kick: true if UML kicked a vring since the last call (kicks merge), or a device event waits for delivery. */
bool vhost_user_board_take_kick(void);

/** xs_board_wait: serve the socket and kick fds until a kick/device event or `deadline_ms` (board clock; INFINITY = none). */
void vhost_user_board_wait(double deadline_ms, double now_ms);

/** Takes the oldest pending device event; false when none. Deliver it before the kicks. */
bool vhost_user_board_take_event(vhost_user_board_event *event);

/* The kind of the oldest pending event (VHOST_USER_BOARD_READY / _RESET), or 0 when none is pending. */
int vhost_user_board_peek_event(void);

/** Closes the socket (removing the file) and everything the frontend handed over. */
void vhost_user_board_stop(void);

#endif /* XS_RPMSG_VHOST_USER_BOARD_H */
