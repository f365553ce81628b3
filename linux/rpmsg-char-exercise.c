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

	ctrl = open("/dev/rpmsg_ctrl0", O_RDWR);
	if (ctrl < 0) {
		printf("rpmsg-char: FAIL open /dev/rpmsg_ctrl0: %s\n", strerror(errno));
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
	if (argc == 2 && !strcmp(argv[1], "list")) {
		channel_address("", 1, NULL);
		return 0;
	}
	fprintf(stderr, "usage: %s roundtrip NAME DST MIN MAX | command NAME DST TEXT | "
			"wait-present CHANNEL SECONDS | wait-gone CHANNEL SECONDS | list\n", argv[0]);
	return 2;
}
