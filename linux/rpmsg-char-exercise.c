/*
 * rpmsg-char-exercise: runs inside the User-Mode Linux guest and drives the kernel's rpmsg_char
 * user interface against the remote, printing one "rpmsg-char: ..." line per fact it checks.
 *
 *   rpmsg-char-exercise roundtrip NAME DST MIN MAX
 *       /dev/rpmsg_ctrl0 RPMSG_CREATE_EPT_IOCTL {NAME, src ANY, DST} -> /dev/rpmsgN;
 *       write/read one message of every size MIN..MAX (each echoed unchanged by the remote);
 *       then a write of MTU+1 bytes must fail with EMSGSIZE; then RPMSG_DESTROY_EPT_IOCTL.
 *   rpmsg-char-exercise command NAME DST TEXT
 *       one request/reply exchange: sends TEXT from a fresh endpoint, prints the reply.
 *   rpmsg-char-exercise wait-present CHANNEL SECONDS / wait-gone CHANNEL SECONDS
 *       waits until a device under /sys/bus/rpmsg/devices names (or no longer names) CHANNEL.
 *   rpmsg-char-exercise list
 *       prints the rpmsg devices (channels) the bus holds.
 *   rpmsg-char-exercise flood NAME DST COUNT WINDOW
 *       COUNT messages to an echo service, at most WINDOW unanswered at a time; each carries its
 *       sequence number, its size (12..496, from the sequence) and an FNV-1a checksum over a
 *       pattern derived from the sequence; every echo is checked and the lost, duplicated,
 *       reordered and corrupted ones are counted.
 *   rpmsg-char-exercise burst NAME DST COUNT SIZE
 *       asks the e2e control service at DST for "burst COUNT SIZE" and checks what arrives:
 *       sequence number in bytes 0..3, every other byte the sequence's low byte. Prints a
 *       progress line every 1000 messages (the harness may kill the host on one).
 *   rpmsg-char-exercise many NAME DST COUNT ROUNDS
 *       COUNT endpoints NAME-0..NAME-(COUNT-1) to DST at once; ROUNDS times one message on each,
 *       then every echo must arrive on its own endpoint; all destroyed at the end.
 *   rpmsg-char-exercise zero NAME DST
 *       a 0-byte write (Linux sends a bare header); the echo must come back as a 0-byte read;
 *       then a 5-byte round trip on the same endpoint.
 *   rpmsg-char-exercise unknown NAME DST
 *       a write to an address where nothing listens must succeed and get no reply (1 s).
 *   rpmsg-char-exercise stall NAME DST
 *       (the remote has stopped taking messages) writes to DST until a write fails: all TX
 *       buffers taken, the next write blocks 15 s and fails (6.1: errno 512, ERESTARTSYS);
 *       then reads the echoes of everything written once the remote takes messages again.
 *
 * DST is a number (0x400) or @CHANNEL: the remote address of the channel the remote announced
 * under that name (the last field of "<parent>.<name>.<src>.<dst>" in /sys/bus/rpmsg/devices).
 * Built statically by linux/build-kernel.sh so it runs whatever the hostfs root holds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* include/uapi/linux/rpmsg.h */
struct rpmsg_endpoint_info {
	char name[32];
	uint32_t src;
	uint32_t dst;
};
#define RPMSG_ADDR_ANY 0xFFFFFFFFu
#define RPMSG_CREATE_EPT_IOCTL _IOW(0xb5, 0x1, struct rpmsg_endpoint_info)
#define RPMSG_DESTROY_EPT_IOCTL _IO(0xb5, 0x2)

/* MAX_RPMSG_BUF_SIZE (512) minus the 16-byte rpmsg header */
#define RPMSG_MTU 496

/* How long a send may block in virtio_rpmsg_bus (rpmsg_send_offchannel_raw waits 15 s). */
#define ERESTARTSYS_LEAKED 512

static int failures;

static void fail(const char *what)
{
	printf("rpmsg-char: FAIL %s\n", what);
	fflush(stdout);
	failures++;
}

static int read_text(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = 0;
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = 0;
	return 0;
}

/* The endpoint device rpmsg_char made for NAME: /sys/class/rpmsg/rpmsgN/name == NAME. */
static int find_endpoint_device(const char *name, char *dev_path, size_t size)
{
	DIR *dir = opendir("/sys/class/rpmsg");
	struct dirent *entry;
	int found = -1;

	if (!dir)
		return -1;
	while ((entry = readdir(dir))) {
		char path[300], text[64];

		if (strncmp(entry->d_name, "rpmsg", 5) || !strncmp(entry->d_name, "rpmsg_ctrl", 10))
			continue;
		snprintf(path, sizeof(path), "/sys/class/rpmsg/%s/name", entry->d_name);
		if (read_text(path, text, sizeof(text)) == 0 && !strcmp(text, name)) {
			snprintf(dev_path, size, "/dev/%s", entry->d_name);
			found = 0;
			break;
		}
	}
	closedir(dir);
	return found;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* One message per read(); waits up to 5 s for the echo. */
static ssize_t read_message(int fd, uint8_t *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int rc = poll(&pfd, 1, 5000);

	if (rc <= 0)
		return rc == 0 ? -ETIMEDOUT : -errno;
	rc = read(fd, buf, size);
	return rc < 0 ? -errno : rc;
}

/* Channel devices are named "<parent>.<name>.<src>.<dst>" (WIRE.md); match the name part. */
static int channel_address(const char *channel, int print, uint32_t *dst)
{
	DIR *dir = opendir("/sys/bus/rpmsg/devices");
	struct dirent *entry;
	char needle[64];
	int present = 0;

	if (!dir)
		return 0;
	snprintf(needle, sizeof(needle), ".%s.", channel);
	while ((entry = readdir(dir))) {
		char *found;

		if (entry->d_name[0] == '.')
			continue;
		if (print)
			printf("rpmsg-char: channel %s\n", entry->d_name);
		found = strstr(entry->d_name, needle);
		if (found && channel[0]) {
			const char *last = strrchr(entry->d_name, '.');

			present = 1;
			if (dst && last)
				*dst = (uint32_t)strtoul(last + 1, NULL, 10);
		}
	}
	closedir(dir);
	return present;
}

/* DST argument: a number, or @CHANNEL for the address the remote announced that channel at. */
static int parse_destination(const char *text, uint32_t *dst)
{
	if (text[0] != '@') {
		*dst = (uint32_t)strtoul(text, NULL, 0);
		return 0;
	}
	if (!channel_address(text + 1, 0, dst)) {
		printf("rpmsg-char: FAIL no channel named %s on the rpmsg bus\n", text + 1);
		return -1;
	}
	return 0;
}

/*
 * The rpmsg_ctrl device: /dev/rpmsg_ctrl0 unless that one is gone (after an unbind/bind while
 * an old one was still open the new one gets the next minor).
 */
static const char *control_device(void)
{
	static char path[300];
	DIR *dir;
	struct dirent *entry;

	if (access("/dev/rpmsg_ctrl0", F_OK) == 0)
		return "/dev/rpmsg_ctrl0";
	strcpy(path, "/dev/rpmsg_ctrl0");
	dir = opendir("/dev");
	if (!dir)
		return path;
	while ((entry = readdir(dir)))
		if (!strncmp(entry->d_name, "rpmsg_ctrl", 10))
			snprintf(path, sizeof(path), "/dev/%s", entry->d_name);
	closedir(dir);
	return path;
}

/* Creates an rpmsg_char endpoint NAME -> DST and opens its device; returns the fd or -1. */
static int open_endpoint(const char *name, uint32_t dst, int *ctrl_out)
{
	struct rpmsg_endpoint_info info;
	char dev_path[300];
	int ctrl, ept;

	memset(&info, 0, sizeof(info));
	strncpy(info.name, name, sizeof(info.name) - 1);
	info.src = RPMSG_ADDR_ANY;
	info.dst = dst;

	ctrl = open(control_device(), O_RDWR);
	if (ctrl < 0) {
		printf("rpmsg-char: FAIL open %s: %s\n", control_device(), strerror(errno));
		return -1;
	}
	if (ioctl(ctrl, RPMSG_CREATE_EPT_IOCTL, &info) < 0) {
		printf("rpmsg-char: FAIL RPMSG_CREATE_EPT_IOCTL: %s\n", strerror(errno));
		close(ctrl);
		return -1;
	}
	if (find_endpoint_device(name, dev_path, sizeof(dev_path)) < 0) {
		printf("rpmsg-char: FAIL no /sys/class/rpmsg device named %s\n", name);
		close(ctrl);
		return -1;
	}
	ept = open(dev_path, O_RDWR);
	if (ept < 0) {
		printf("rpmsg-char: FAIL open %s: %s\n", dev_path, strerror(errno));
		close(ctrl);
		return -1;
	}
	printf("rpmsg-char: created endpoint %s -> %s (dst 0x%x)\n", name, dev_path, dst);
	*ctrl_out = ctrl;
	return ept;
}

static int close_endpoint(const char *name, int ept, int ctrl)
{
	char dev_path[300];
	int i, gone;

	if (ioctl(ept, RPMSG_DESTROY_EPT_IOCTL) < 0)
		printf("rpmsg-char: FAIL RPMSG_DESTROY_EPT_IOCTL: %s\n", strerror(errno));
	else
		printf("rpmsg-char: endpoint destroyed\n");
	close(ept);
	close(ctrl);
	for (i = 0; i < 100 && find_endpoint_device(name, dev_path, sizeof(dev_path)) == 0; i++)
		usleep(10000);
	gone = find_endpoint_device(name, dev_path, sizeof(dev_path)) != 0;
	if (!gone)
		fail("endpoint device still present after destroy");
	return gone ? 0 : 1;
}

static int command(const char *name, uint32_t dst, const char *text)
{
	uint8_t in[RPMSG_MTU + 1];
	int ctrl, ept = open_endpoint(name, dst, &ctrl);
	ssize_t n;

	if (ept < 0)
		return 1;
	if (write(ept, text, strlen(text)) != (ssize_t)strlen(text)) {
		printf("rpmsg-char: FAIL write of command \"%s\": %s\n", text, strerror(errno));
		failures++;
	} else if ((n = read_message(ept, in, RPMSG_MTU)) < 0) {
		printf("rpmsg-char: FAIL no reply to \"%s\": %s\n", text, strerror((int)-n));
		failures++;
	} else {
		in[n] = 0;
		printf("rpmsg-char: reply \"%s\"\n", (char *)in);
		if (strncmp((char *)in, "ok", 2))
			failures++;
	}
	close_endpoint(name, ept, ctrl);
	return failures != 0;
}

static int roundtrip(const char *name, uint32_t dst, int min, int max)
{
	uint8_t out[RPMSG_MTU + 1], in[1024];
	int ctrl, ept, size, ok = 0, i;
	double started, elapsed;

	ept = open_endpoint(name, dst, &ctrl);
	if (ept < 0)
		return 1;

	started = now_ms();
	for (size = min; size <= max; size++) {
		ssize_t n;

		for (i = 0; i < size; i++)
			out[i] = (uint8_t)(size + i);
		n = write(ept, out, size);
		if (n != size) {
			printf("rpmsg-char: FAIL write of %d bytes returned %zd (%s)\n", size, n,
			       n < 0 ? strerror(errno) : "short");
			failures++;
			break;
		}
		n = read_message(ept, in, sizeof(in));
		if (n != size || memcmp(in, out, size)) {
			printf("rpmsg-char: FAIL echo of %d bytes came back as %zd bytes%s\n", size, n,
			       n == size ? " with different content" : "");
			failures++;
			break;
		}
		ok++;
	}
	elapsed = now_ms() - started;
	printf("rpmsg-char: %d/%d round trips ok, sizes %d..%d, %.1f ms\n", ok, max - min + 1, min,
	       max, elapsed);

	memset(out, 0x5a, sizeof(out));
	if (write(ept, out, RPMSG_MTU + 1) < 0 && errno == EMSGSIZE)
		printf("rpmsg-char: write of %d bytes refused: EMSGSIZE\n", RPMSG_MTU + 1);
	else
		fail("write of MTU+1 bytes was not refused with EMSGSIZE");

	if (close_endpoint(name, ept, ctrl) == 0)
		printf("rpmsg-char: endpoint device removed\n");
	return failures || ok != max - min + 1;
}

static int wait_channel(const char *channel, int seconds, int want_present)
{
	double deadline = now_ms() + seconds * 1000.0;

	while (channel_address(channel, 0, NULL) != want_present) {
		if (now_ms() > deadline) {
			printf("rpmsg-char: FAIL channel %s still %s after %d s\n", channel,
			       want_present ? "absent" : "present", seconds);
			return 1;
		}
		usleep(10000);
	}
	printf("rpmsg-char: channel %s %s\n", channel, want_present ? "present" : "gone");
	return 0;
}

/* --- flood, burst, many, zero, unknown --------------------------------------------------- */

static uint32_t fnv1a(const uint8_t *data, size_t length)
{
	uint32_t hash = 2166136261u;
	size_t i;

	for (i = 0; i < length; i++)
		hash = (hash ^ data[i]) * 16777619u;
	return hash;
}

static void put32(uint8_t *at, uint32_t value)
{
	at[0] = value;
	at[1] = value >> 8;
	at[2] = value >> 16;
	at[3] = value >> 24;
}

static uint32_t get32(const uint8_t *at)
{
	return at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

/* Flood message SEQ: 12..496 bytes, {u32 seq, u32 size, u32 fnv1a(pattern), pattern}. */
static int flood_message(uint32_t seq, uint8_t *out)
{
	int size = 12 + (int)((seq * 7919u) % (RPMSG_MTU - 12 + 1));
	uint32_t state = seq * 2654435761u + 1;
	int i;

	for (i = 12; i < size; i++) {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		out[i] = (uint8_t)state;
	}
	put32(out, seq);
	put32(out + 4, (uint32_t)size);
	put32(out + 8, fnv1a(out + 12, size - 12));
	return size;
}

/* Why write() failed, naming the 6.1 leak of ERESTARTSYS (512) from a send that timed out. */
static const char *write_error(int error)
{
	static char text[100];

	if (error == ERESTARTSYS_LEAKED)
		return "errno 512 (ERESTARTSYS leaked: the send timed out waiting for a TX buffer)";
	snprintf(text, sizeof(text), "%s", strerror(error));
	return text;
}

/* Closes an endpoint whose remote may be gone: close() only (DESTROY_EPT panics 6.1 then). */
static void drop_endpoint(int ept, int ctrl)
{
	close(ept);
	close(ctrl);
	printf("rpmsg-char: endpoint closed without RPMSG_DESTROY_EPT_IOCTL\n");
}

static int flood(const char *name, uint32_t dst, uint32_t count, uint32_t window)
{
	static uint8_t out[RPMSG_MTU], in[1024];
	uint8_t *seen = calloc(count + 1, 1);
	uint32_t sent = 0, answers = 0, unique = 0, next = 0;
	uint32_t duplicated = 0, reordered = 0, corrupted = 0, lost;
	unsigned long long bytes = 0;
	int ctrl, ept, broken = 0;
	double started, elapsed;

	if (!seen)
		return 1;
	ept = open_endpoint(name, dst, &ctrl);
	if (ept < 0)
		return 1;
	started = now_ms();
	while (answers < sent || sent < count) {
		ssize_t n;

		while (sent < count && sent - answers < window) {
			int size = flood_message(sent, out);

			n = write(ept, out, size);
			if (n != size) {
				printf("rpmsg-char: FAIL flood write %u of %d bytes returned %zd (%s)\n", sent, size, n,
				       n < 0 ? write_error(errno) : "short");
				broken = 1;
				break;
			}
			bytes += size;
			sent++;
		}
		if (broken)
			break;
		n = read_message(ept, in, sizeof(in));
		if (n < 0) {
			printf("rpmsg-char: FAIL flood read after %u of %u answers: %s\n", answers, sent, strerror((int)-n));
			broken = 1;
			break;
		}
		answers++;
		{
			uint32_t seq = n >= 12 ? get32(in) : 0xffffffffu;
			uint8_t expected[RPMSG_MTU];

			if (n < 12 || seq >= count || flood_message(seq, expected) != n || memcmp(expected, in, n)) {
				if (corrupted < 5)
					printf("rpmsg-char: flood echo %u corrupted (%zd bytes, seq field %u)\n", answers, n, seq);
				corrupted++;
			} else if (seen[seq]) {
				duplicated++;
			} else {
				seen[seq] = 1;
				unique++;
				if (seq != next)
					reordered++;
				next = seq + 1;
			}
		}
	}
	elapsed = now_ms() - started;
	lost = count - unique;
	printf("rpmsg-char: flood %u sent, %u received, %u lost, %u duplicated, %u reordered, %u corrupted, "
	       "%.0f ms, %.0f msg/s, %.2f MB/s each way\n", sent, answers, lost, duplicated, reordered, corrupted,
	       elapsed, answers * 1000.0 / (elapsed > 0 ? elapsed : 1), bytes / 1000.0 / (elapsed > 0 ? elapsed : 1));
	free(seen);
	if (broken) {
		drop_endpoint(ept, ctrl);
		return 1;
	}
	close_endpoint(name, ept, ctrl);
	return failures || lost || duplicated || reordered || corrupted;
}

static int burst(const char *name, uint32_t dst, uint32_t count, int size)
{
	uint8_t in[1024];
	char request[64];
	uint32_t received = 0, next = 0, lost = 0, duplicated = 0, reordered = 0, corrupted = 0;
	int ctrl, ept, broken = 0, i;
	double started, elapsed;

	ept = open_endpoint(name, dst, &ctrl);
	if (ept < 0)
		return 1;
	snprintf(request, sizeof(request), "burst %u %d", count, size);
	started = now_ms();
	if (write(ept, request, strlen(request)) != (ssize_t)strlen(request)) {
		printf("rpmsg-char: FAIL write of \"%s\": %s\n", request, write_error(errno));
		drop_endpoint(ept, ctrl);
		return 1;
	}
	printf("rpmsg-char: asked for %s\n", request);
	while (received < count) {
		ssize_t n = read_message(ept, in, sizeof(in));
		uint32_t seq;
		int good;

		if (n < 0) {
			printf("rpmsg-char: FAIL burst read after %u of %u messages: %s\n", received, count, strerror((int)-n));
			broken = 1;
			break;
		}
		received++;
		seq = size >= 4 && n >= 4 ? get32(in) : next;
		good = n == size;
		for (i = size >= 4 ? 4 : 0; good && i < n; i++)
			good = in[i] == (uint8_t)seq;
		if (!good) {
			if (corrupted < 5)
				printf("rpmsg-char: burst message %u corrupted (%zd bytes)\n", received, n);
			corrupted++;
		} else if (seq < next) {
			duplicated++;
		} else {
			if (seq > next) {
				reordered++;
				lost += seq - next;
			}
			next = seq + 1;
		}
		if (received % 1000 == 0)
			printf("rpmsg-char: burst %u received\n", received);
	}
	elapsed = now_ms() - started;
	if (next < count && !broken)
		lost += count - next;
	printf("rpmsg-char: burst of %u x %d bytes: %u received, %u lost, %u duplicated, %u reordered, %u corrupted, "
	       "%.0f ms, %.0f msg/s\n", count, size, received, lost, duplicated, reordered, corrupted, elapsed,
	       received * 1000.0 / (elapsed > 0 ? elapsed : 1));
	if (broken) {
		drop_endpoint(ept, ctrl);
		return 1;
	}
	close_endpoint(name, ept, ctrl);
	return failures || lost || duplicated || reordered || corrupted;
}

#define MANY_MAX 256

static int many(const char *prefix, uint32_t dst, int count, int rounds)
{
	static int epts[MANY_MAX], ctrls[MANY_MAX];
	char name[32], text[64];
	uint8_t in[1024];
	int i, round, opened = 0, right = 0, wrong = 0, gone = 0;

	if (count > MANY_MAX)
		count = MANY_MAX;
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		epts[i] = open_endpoint(name, dst, &ctrls[i]);
		if (epts[i] < 0)
			break;
		opened++;
	}
	printf("rpmsg-char: %d of %d endpoints open at once\n", opened, count);
	for (round = 0; round < rounds && opened == count; round++) {
		for (i = 0; i < count; i++) {
			int length = snprintf(text, sizeof(text), "endpoint %d round %d", i, round);

			if (write(epts[i], text, length) != length) {
				printf("rpmsg-char: FAIL write on endpoint %d: %s\n", i, write_error(errno));
				wrong++;
			}
		}
		for (i = 0; i < count; i++) {
			int length = snprintf(text, sizeof(text), "endpoint %d round %d", i, round);
			ssize_t n = read_message(epts[i], in, sizeof(in));

			if (n == length && !memcmp(in, text, length)) {
				right++;
			} else {
				if (wrong < 5)
					printf("rpmsg-char: endpoint %d round %d got %zd bytes \"%.*s\"\n", i, round, n,
					       n > 0 ? (int)n : 0, (char *)in);
				wrong++;
			}
		}
	}
	printf("rpmsg-char: %d endpoints x %d rounds: %d echoes on their own endpoint, %d wrong or missing\n",
	       count, rounds, right, wrong);
	for (i = 0; i < opened; i++) {
		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		if (ioctl(epts[i], RPMSG_DESTROY_EPT_IOCTL) < 0)
			printf("rpmsg-char: FAIL RPMSG_DESTROY_EPT_IOCTL on endpoint %d: %s\n", i, strerror(errno));
		close(epts[i]);
		close(ctrls[i]);
	}
	for (i = 0; i < opened; i++) {
		char dev_path[300];
		int tries;

		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		for (tries = 0; tries < 100 && find_endpoint_device(name, dev_path, sizeof(dev_path)) == 0; tries++)
			usleep(10000);
		if (find_endpoint_device(name, dev_path, sizeof(dev_path)) != 0)
			gone++;
	}
	printf("rpmsg-char: %d of %d endpoint devices removed\n", gone, opened);
	return opened != count || wrong || right != count * rounds || gone != opened;
}

static int zero(const char *name, uint32_t dst)
{
	uint8_t in[1024];
	int ctrl, ept = open_endpoint(name, dst, &ctrl);
	ssize_t n;

	if (ept < 0)
		return 1;
	n = write(ept, in, 0);
	printf("rpmsg-char: write of 0 bytes returned %zd%s%s\n", n, n < 0 ? " " : "", n < 0 ? strerror(errno) : "");
	if (n == 0) {
		n = read_message(ept, in, sizeof(in));
		if (n < 0)
			printf("rpmsg-char: no echo of the 0-byte message: %s\n", strerror((int)-n));
		else
			printf("rpmsg-char: echo of the 0-byte message: %zd bytes\n", n);
	}
	memcpy(in, "after", 5);
	if (write(ept, in, 5) != 5) {
		printf("rpmsg-char: FAIL 5-byte write after the 0-byte one: %s\n", write_error(errno));
		failures++;
	} else if ((n = read_message(ept, in, sizeof(in))) != 5 || memcmp(in, "after", 5)) {
		printf("rpmsg-char: FAIL 5-byte echo after the 0-byte one came back as %zd bytes\n", n);
		failures++;
	} else {
		printf("rpmsg-char: 5-byte round trip after the 0-byte write ok\n");
	}
	close_endpoint(name, ept, ctrl);
	return failures != 0;
}

static int unknown(const char *name, uint32_t dst)
{
	uint8_t in[1024];
	struct pollfd pfd;
	int ctrl, ept = open_endpoint(name, dst, &ctrl), rc;
	ssize_t n;

	if (ept < 0)
		return 1;
	n = write(ept, "nobody home", 11);
	printf("rpmsg-char: write of 11 bytes to 0x%x (nobody listens) returned %zd%s%s\n", dst, n,
	       n < 0 ? " " : "", n < 0 ? write_error(errno) : "");
	pfd.fd = ept;
	pfd.events = POLLIN;
	rc = poll(&pfd, 1, 1000);
	if (rc == 0)
		printf("rpmsg-char: no reply from 0x%x within 1 s\n", dst);
	else
		printf("rpmsg-char: FAIL unexpected reply from 0x%x: %zd bytes\n", dst, read(ept, in, sizeof(in)));
	close_endpoint(name, ept, ctrl);
	return n != 11 || rc != 0 || failures;
}

static int stall(const char *name, uint32_t dst)
{
	uint8_t out[64], in[1024];
	int ctrl, ept = open_endpoint(name, dst, &ctrl), error = 0, echoes = 0, i;
	uint32_t written = 0;
	double started = 0, elapsed;

	if (ept < 0)
		return 1;
	for (;;) {
		put32(out, written);
		memset(out + 4, 0x3c, sizeof(out) - 4);
		started = now_ms();
		if (write(ept, out, sizeof(out)) != (ssize_t)sizeof(out)) {
			error = errno;
			break;
		}
		written++;
		if (written > 4096)
			break;
	}
	elapsed = now_ms() - started;
	printf("rpmsg-char: %u writes went through; write %u failed after %.0f ms: %s\n", written, written + 1,
	       elapsed, error ? write_error(error) : "no failure");
	for (i = 0; i < (int)written; i++) {
		ssize_t n = read_message(ept, in, sizeof(in));

		if (n != (ssize_t)sizeof(out) || get32(in) != (uint32_t)i)
			break;
		echoes++;
	}
	printf("rpmsg-char: %d of %u stalled messages echoed in order once the remote took messages again\n", echoes, written);
	close_endpoint(name, ept, ctrl);
	return !error || echoes != (int)written || failures;
}

int main(int argc, char **argv)
{
	uint32_t dst;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && !strcmp(argv[1], "roundtrip"))
		return parse_destination(argv[3], &dst) ? 1
			: roundtrip(argv[2], dst, atoi(argv[4]), atoi(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "command"))
		return parse_destination(argv[3], &dst) ? 1 : command(argv[2], dst, argv[4]);
	if (argc == 4 && !strcmp(argv[1], "wait-gone"))
		return wait_channel(argv[2], atoi(argv[3]), 0);
	if (argc == 4 && !strcmp(argv[1], "wait-present"))
		return wait_channel(argv[2], atoi(argv[3]), 1);
	if (argc == 6 && !strcmp(argv[1], "flood"))
		return parse_destination(argv[3], &dst) ? 1
			: flood(argv[2], dst, (uint32_t)strtoul(argv[4], NULL, 0), (uint32_t)strtoul(argv[5], NULL, 0));
	if (argc == 6 && !strcmp(argv[1], "burst"))
		return parse_destination(argv[3], &dst) ? 1
			: burst(argv[2], dst, (uint32_t)strtoul(argv[4], NULL, 0), atoi(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "many"))
		return parse_destination(argv[3], &dst) ? 1 : many(argv[2], dst, atoi(argv[4]), atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "zero"))
		return parse_destination(argv[3], &dst) ? 1 : zero(argv[2], dst);
	if (argc == 4 && !strcmp(argv[1], "stall"))
		return parse_destination(argv[3], &dst) ? 1 : stall(argv[2], dst);
	if (argc == 4 && !strcmp(argv[1], "unknown"))
		return parse_destination(argv[3], &dst) ? 1 : unknown(argv[2], dst);
	if (argc == 2 && !strcmp(argv[1], "list")) {
		channel_address("", 1, NULL);
		return 0;
	}
	fprintf(stderr, "usage: %s roundtrip NAME DST MIN MAX | command NAME DST TEXT | "
			"wait-present CHANNEL SECONDS | wait-gone CHANNEL SECONDS | list | "
			"flood NAME DST COUNT WINDOW | burst NAME DST COUNT SIZE | many PREFIX DST COUNT ROUNDS | "
			"zero NAME DST | unknown NAME DST | stall NAME DST\n", argv[0]);
	return 2;
}
