/* newlib-nano hooks of every Cortex-M board: stdout/stderr to the board console, time from the board clock, exit. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <sys/time.h>
#include "xs_board.h"

int _write(int file, const char* buffer, int length)
{
	if ((file != 1) && (file != 2)) {
		errno = EBADF;
		return -1;
	}
	xs_board_console_write(buffer, (size_t)length);
	return length;
}

int _gettimeofday(struct timeval* tv, void* tz)
{
	(void)tz;
	double now = xs_board_now();
	if (tv) {
		tv->tv_sec = (time_t)(now / 1000);
		tv->tv_usec = (suseconds_t)(fmod(now, 1000) * 1000);
	}
	return 0;
}

void _exit(int status)
{
	xs_board_exit(status);
}
