#!/bin/sh
# init (PID 1) of the User-Mode Linux rpmsg host. The root is the host's own filesystem over
# hostfs, read-only. linux/uml.ts passes parameters on the kernel command line; the kernel hands
# unknown name=value pairs to init as environment variables:
#   xsr_dir     folder with rpmsg_client_sample.ko and rpmsg-char-exercise (the build output)
#   xsr_steps   comma-separated steps to run in order (see below)
#   xsr_char    rpmsg_char exercise: ENDPOINT_NAME:DST:MIN:MAX
#               (default xsr-char:@rpmsg-client-sample:1:496; @NAME = the address NAME was announced at)
#   xsr_control the remote's control service for the nsdestroy and flood steps (default xs-rpmsg-test-control)
#   xsr_wait    seconds any one step may wait for the remote (default 20)
# Every line this script prints starts with "xsr-init:" (or "rpmsg-char:" from the exercise)
# so the harness can tell it from kernel messages. It always ends with a sysrq power-off.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

say() { echo "xsr-init: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# CONFIG_DEVTMPFS_MOUNT normally mounts /dev already; mount it if not.
grep -q ' /dev devtmpfs ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
echo 8 > /proc/sys/kernel/printk 2>/dev/null

wait_seconds=${xsr_wait:-20}

# Waits until the kernel log has a line matching $1 (grep -E), up to $wait_seconds.
wait_for_log() {
  tries=$((wait_seconds * 20))
  while [ $tries -gt 0 ]; do
    if dmesg | grep -Eq "$1"; then return 0; fi
    sleep 0.05
    tries=$((tries - 1))
  done
  say "FAIL timed out after ${wait_seconds}s waiting for kernel log: $1"
  return 1
}

wait_for_path() {
  tries=$((wait_seconds * 20))
  while [ $tries -gt 0 ]; do
    if [ -e "$1" ]; then return 0; fi
    sleep 0.05
    tries=$((tries - 1))
  done
  say "FAIL timed out after ${wait_seconds}s waiting for $1"
  return 1
}

step_online() {
  wait_for_log 'rpmsg host is online' && say "rpmsg host online"
}

step_sample() {
  wait_for_log 'creating channel rpmsg-client-sample' || return 1
  insmod "$xsr_dir/rpmsg_client_sample.ko" || { say "FAIL insmod rpmsg_client_sample.ko"; return 1; }
  say "rpmsg_client_sample loaded"
  wait_for_log 'rpmsg_client_sample.*goodbye!' && say "sample finished"
}

step_char() {
  spec=${xsr_char:-xsr-char:@rpmsg-client-sample:1:496}
  old_ifs=$IFS; IFS=:; set -- $spec; IFS=$old_ifs
  wait_for_path /dev/rpmsg_ctrl0 || return 1
  "$xsr_dir/rpmsg-char-exercise" roundtrip "$1" "$2" "$3" "$4"
}

# Through the remote's control service: open a service (NS create -> a channel appears), close it
# (NS destroy -> the channel device must disappear).
step_nsdestroy() {
  control=${xsr_control:-xs-rpmsg-test-control}
  exercise="$xsr_dir/rpmsg-char-exercise"
  "$exercise" wait-present "$control" "$wait_seconds" &&
  "$exercise" command xsr-control "@$control" "open xsr-ns-probe" &&
  "$exercise" wait-present xsr-ns-probe "$wait_seconds" &&
  "$exercise" command xsr-control "@$control" "close xsr-ns-probe" &&
  "$exercise" wait-gone xsr-ns-probe "$wait_seconds"
}

# Through the remote's control service: start a remote->host flood of blocking sends, then go on
# (the next step, or the power-off, ends the host while the remote waits for TX buffers).
step_flood() {
  control=${xsr_control:-xs-rpmsg-test-control}
  "$xsr_dir/rpmsg-char-exercise" wait-present "$control" "$wait_seconds" &&
  "$xsr_dir/rpmsg-char-exercise" command xsr-control "@$control" "flood 1000000 496"
}

# virtio_rpmsg_bus unbound from the rpmsg virtio device and bound again through sysfs while the
# remote runs (Linux's virtio_dev_remove: status 0 then ACKNOWLEDGE), 100 ms apart; the channels
# must come back (the next "creating channel" line after the bind).
step_rebind() {
  device=$(ls /sys/bus/virtio/drivers/virtio_rpmsg_bus/ | grep '^virtio' | head -1)
  [ -n "$device" ] || { say "FAIL no device bound to virtio_rpmsg_bus"; return 1; }
  before=$(dmesg | grep -c 'creating channel rpmsg-client-sample')
  echo "$device" > /sys/bus/virtio/drivers/virtio_rpmsg_bus/unbind || return 1
  sleep 0.1
  echo "$device" > /sys/bus/virtio/drivers/virtio_rpmsg_bus/bind || return 1
  tries=$((wait_seconds * 20))
  while [ $tries -gt 0 ]; do
    if [ "$(dmesg | grep -c 'creating channel rpmsg-client-sample')" -gt "$before" ]; then say "channels back after rebind of $device"; return 0; fi
    sleep 0.05
    tries=$((tries - 1))
  done
  say "FAIL the channels did not come back after rebind of $device"
  return 1
}

step_list() {
  "$xsr_dir/rpmsg-char-exercise" list
}

step_rmmod() {
  rmmod rpmsg_client_sample && say "rpmsg_client_sample unloaded"
}

step_sleep() {
  sleep 1
}

say "init up (steps: ${xsr_steps:-none})"
old_ifs=$IFS; IFS=,; steps=${xsr_steps:-}; set -- $steps; IFS=$old_ifs
for step in "$@"; do
  case "$step" in
    online|sample|char|nsdestroy|flood|rebind|list|rmmod|sleep)
      if "step_$step"; then say "step $step ok"; else say "step $step FAILED"; fi ;;
    *) say "unknown step $step" ;;
  esac
done
say "done; powering off"
echo o > /proc/sysrq-trigger
sleep 10
