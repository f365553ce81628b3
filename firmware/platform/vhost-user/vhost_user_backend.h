/*
 * vhost-user backend (device side) for one virtio-rpmsg device, as User-Mode Linux 6.1's
 * virtio_uml driver drives it. The remote listens on a UNIX socket; UML connects as the
 * frontend, hands over its memory (SET_MEM_TABLE, fds over SCM_RIGHTS), the two vrings and
 * their kick/call fds. This library does the vhost-user control plane and nothing of rpmsg:
 * the remote runtime reads and writes the vrings itself through the mapped memory.
 *
 * Poll-loop integration: the caller owns the loop. Each turn, vhost_user_backend_pollfds()
 * fills the fds to watch (listening socket or connection, kick eventfds); after poll(),
 * vhost_user_backend_handle() services the readable ones and calls the callbacks. Or call
 * vhost_user_backend_wait(), which does both with a timeout.
 *
 * Addresses: everything the callbacks report is a guest-physical address (GPA), the same
 * address space as the descriptors' addr fields. memory_base is the GPA of memory[0].
 */
#ifndef XS_RPMSG_VHOST_USER_BACKEND_H
#define XS_RPMSG_VHOST_USER_BACKEND_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Virtio rpmsg has two vrings: 0 = host RX (remote TX), 1 = host TX (remote RX). */
#define VHOST_USER_RPMSG_VRINGS 2

/** Most fds the backend asks the caller to poll (socket + one kick fd per vring). */
#define VHOST_USER_BACKEND_MAX_POLLFDS (1 + VHOST_USER_RPMSG_VRINGS)

/** Feature bits offered: VIRTIO_RPMSG_F_NS (0) | VHOST_USER_F_PROTOCOL_FEATURES (30) | VIRTIO_F_VERSION_1 (32). */
#define VHOST_USER_RPMSG_FEATURES ((1ull << 0) | (1ull << 30) | (1ull << 32))

/** Where one vring sits, in guest-physical addresses. */
typedef struct {
	unsigned index;     /* 0 or 1; also the notify id the runtime passes back to notify() */
	unsigned num;       /* entries (a power of two, <= 256 with UML 6.1) */
	uint64_t desc;      /* GPA of the descriptor table */
	uint64_t avail;     /* GPA of the avail ring */
	uint64_t used;      /* GPA of the used ring */
	unsigned base;      /* first avail index to process (SET_VRING_BASE; 0 from UML) */
} vhost_user_vring;

/** What the frontend set up, handed over once the device is live. */
typedef struct {
	uint64_t features;      /* features the frontend acknowledged (SET_FEATURES) */
	uint8_t *memory;        /* mapping of the memory region that holds the vrings */
	uint64_t memory_size;   /* bytes in that mapping */
	uint64_t memory_base;   /* GPA of memory[0] */
	unsigned vring_count;   /* VHOST_USER_RPMSG_VRINGS */
	vhost_user_vring vrings[VHOST_USER_RPMSG_VRINGS];
} vhost_user_device;

/** Callbacks; all are called from vhost_user_backend_handle()/wait(), never re-entrantly. */
typedef struct {
	/*
	 * The device is live: both vrings configured and enabled and the frontend's first kick
	 * arrived (Linux kicks vring 0 only after posting its RX buffers and setting DRIVER_OK,
	 * so this is the vhost-user stand-in for "status has DRIVER_OK"). `device` stays valid
	 * until on_reset. on_kick follows for that first kick.
	 */
	void (*on_ready)(void *context, const vhost_user_device *device);
	/* The device went away (vrings disabled/stopped, memory table replaced, frontend gone).
	   Stop using the memory from on_ready: right after this returns it is replaced by
	   anonymous zero pages (a late access reads zeros, it does not fault), and those are
	   unmapped some resets later. */
	void (*on_reset)(void *context, const char *reason);
	/* The frontend kicked this vring (kicks merge: service both vrings). Only while live. */
	void (*on_kick)(void *context, unsigned vring_index);
	/* One line of diagnostics (no newline); NULL = write to stderr. */
	void (*on_log)(void *context, const char *line);
	void *context;
} vhost_user_callbacks;

typedef struct vhost_user_backend vhost_user_backend;

/**
 * Creates the listening socket at `socket_path` (an existing socket file there is replaced).
 * Returns NULL with a message in `error` on failure.
 */
vhost_user_backend *vhost_user_backend_create(const char *socket_path,
					      const vhost_user_callbacks *callbacks,
					      char *error, size_t error_size);

/** Replaces the features GET_FEATURES offers (default VHOST_USER_RPMSG_FEATURES); call before a frontend connects. */
void vhost_user_backend_offer_features(vhost_user_backend *backend, uint64_t features);

/** Fills up to `max` pollfds (POLLIN) to watch this turn; returns how many. */
int vhost_user_backend_pollfds(vhost_user_backend *backend, struct pollfd *fds, int max);

/** Services the entries of `fds` (as filled by pollfds, revents set by poll()). Returns kicks seen. */
int vhost_user_backend_handle(vhost_user_backend *backend, const struct pollfd *fds, int count);

/** pollfds + poll(timeout_ms; -1 = forever) + handle. Returns kicks seen, or -1 if poll failed. */
int vhost_user_backend_wait(vhost_user_backend *backend, int timeout_ms);

/** Rings the frontend for vring `vring_index` (writes its call fd). 0, or -1 if not live. */
int vhost_user_backend_notify(vhost_user_backend *backend, unsigned vring_index);

/** True between on_ready and on_reset. */
int vhost_user_backend_live(const vhost_user_backend *backend);

/**
 * Translates a GPA range to a pointer into the mapped memory, or NULL if any byte of
 * [address, address + length) lies outside every region the frontend shared.
 */
void *vhost_user_backend_translate(const vhost_user_backend *backend, uint64_t address, uint64_t length);

/** Closes everything, unmaps memory, removes the socket file. NULL is ignored. */
void vhost_user_backend_destroy(vhost_user_backend *backend);

#ifdef __cplusplus
}
#endif

#endif /* XS_RPMSG_VHOST_USER_BACKEND_H */
