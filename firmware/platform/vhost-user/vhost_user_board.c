/*
 * The vhost-user mode of a native XS remote (see vhost_user_board.h): keeps one backend, turns
 * its callbacks into a kick flag and a small queue of device events for the event loop.
 */
#include "vhost_user_board.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define EVENT_QUEUE 8

static vhost_user_backend *backend;
static bool kicked;
static vhost_user_board_event events[EVENT_QUEUE];
static unsigned event_head, event_count;

static void push_event(const vhost_user_board_event *event)
{
	if (event_count == EVENT_QUEUE) {
		/* JS is far behind: the oldest events are history, the newest state is what counts. */
		event_head = (event_head + 1) % EVENT_QUEUE;
		event_count--;
	}
	events[(event_head + event_count) % EVENT_QUEUE] = *event;
	event_count++;
}

static void on_ready(void *context, const vhost_user_device *device)
{
	vhost_user_board_event event;

	(void)context;
	memset(&event, 0, sizeof(event));
	event.kind = VHOST_USER_BOARD_READY;
	event.device = *device;
	push_event(&event);
}

static void on_reset(void *context, const char *reason)
{
	vhost_user_board_event event;

	(void)context;
	memset(&event, 0, sizeof(event));
	event.kind = VHOST_USER_BOARD_RESET;
	snprintf(event.reason, sizeof(event.reason), "%s", reason);
	push_event(&event);
	kicked = false; /* kicks of the old device mean nothing to the next one */
}

static void on_kick(void *context, unsigned vring_index)
{
	(void)context;
	(void)vring_index;
	kicked = true;
}

static void on_log(void *context, const char *line)
{
	(void)context;
	printf("vhost-user: %s\n", line);
	fflush(stdout);
}

/* The firmware's own resource table (generated from manifest.json, linked into every posix build). */
extern uint8_t resource_table[];

static uint32_t table_u32(uint32_t offset)
{
	const uint8_t *p = resource_table + offset;

	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* What the backend offers: the manifest's rpmsg vdev dfeatures that a vhost-user device can carry
   (VIRTIO_RPMSG_F_NS, bit 0; VIRTIO_RING_F_EVENT_IDX, bit 29), plus VHOST_USER_F_PROTOCOL_FEATURES
   and VIRTIO_F_VERSION_1. Without an rpmsg vdev entry: the default set. */
static uint64_t offered_features(void)
{
	uint32_t count = table_u32(4), index;

	for (index = 0; index < count && index < 64; index++) {
		uint32_t entry = table_u32(16 + 4 * index);

		if (table_u32(entry) == 3 /* RSC_VDEV */ && table_u32(entry + 4) == 7 /* VIRTIO_ID_RPMSG */) {
			uint32_t dfeatures = table_u32(entry + 12);

			return (dfeatures & ((1u << 0) | (1u << 29))) | (1ull << 30) | (1ull << 32);
		}
	}
	return VHOST_USER_RPMSG_FEATURES;
}

int vhost_user_board_start(const char *socket_path, char *error, size_t error_size)
{
	static const vhost_user_callbacks callbacks = { on_ready, on_reset, on_kick, on_log, NULL };

	backend = vhost_user_backend_create(socket_path, &callbacks, error, error_size);
	if (!backend)
		return -1;
	vhost_user_backend_offer_features(backend, offered_features());
	printf("vhost-user: listening on %s for a vhost-user frontend (e.g. UML virtio_uml.device=%s:7)\n",
	       socket_path, socket_path);
	fflush(stdout);
	return 0;
}

bool vhost_user_board_active(void)
{
	return backend != NULL;
}

void vhost_user_board_notify(uint32_t vring_index)
{
	if (backend)
		vhost_user_backend_notify(backend, vring_index);
}

bool vhost_user_board_take_kick(void)
{
	bool was;

	/* Serve whatever is already readable without blocking: a kick may be sitting in an eventfd. */
	if (backend && !kicked && !event_count)
		vhost_user_backend_wait(backend, 0);
	/* A pending device event counts as a kick: a blocked waitForNotify must wake up (and not
	   spin, since wait() returns at once while an event waits) so the loop can deliver it. */
	was = kicked || event_count;
	kicked = false;
	return was;
}

void vhost_user_board_wait(double deadline_ms, double now_ms)
{
	int timeout = -1;

	if (!backend || kicked || event_count)
		return;
	if (!isinf(deadline_ms)) {
		double remaining = deadline_ms - now_ms;

		if (remaining <= 0)
			return;
		timeout = (int)ceil(remaining);
	}
	vhost_user_backend_wait(backend, timeout);
}

bool vhost_user_board_take_event(vhost_user_board_event *event)
{
	if (!event_count)
		return false;
	*event = events[event_head];
	event_head = (event_head + 1) % EVENT_QUEUE;
	event_count--;
	return true;
}

int vhost_user_board_peek_event(void)
{
	return event_count ? (int)events[event_head].kind : 0;
}

void vhost_user_board_stop(void)
{
	vhost_user_backend_destroy(backend);
	backend = NULL;
}
