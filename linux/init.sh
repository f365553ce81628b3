#!/bin/sh
# init (PID 1) of the User-Mode Linux rpmsg host. The root is the host's own filesystem over
# hostfs, read-only. linux/uml.ts passes parameters on the kernel command line; the kernel hands
# unknown name=value pairs to init as environment variables:
#   xsr_dir     folder with rpmsg_client_sample.ko and rpmsg-char-exercise (the build output)
#   xsr_exercise the exercise binary to run (default $xsr_dir/rpmsg-char-exercise)
#   xsr_steps   comma-separated steps to run in order (see below)
#   xsr_char    rpmsg_char exercise: ENDPOINT_NAME:DST:MIN:MAX
#               (default xsr-char:@rpmsg-client-sample:1:496; @NAME = the address NAME was announced at)
#   xsr_control the remote's control service for the nsdestroy, remoteflood and other steps (default xs-rpmsg-test-control)
#   xsr_wait    seconds any one step may wait for the remote (default 20)
#   xsr_flood   flood step: COUNT:WINDOW (default 100000:128)
#   xsr_burst   burst step: COUNT:SIZE (default 10000:496), asked of the control service
#   xsr_many    many step: COUNT:ROUNDS endpoints at once (default 64:10)
#   xsr_unknown unknown step: the remote address nobody listens at (default 0x7777)
#   xsr_send    send step: the host address the remote is asked to send to (default 0x7000)
#   xsr_unbind_ms rebind/inflight steps: ms between unbind and bind (default 100)
#   xsr_stall_ms  stall step: how long the remote stops taking messages (default 17000)
#   xsr_agent   the agent step: path of linux/guest-agent.py
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
exercise_binary=${xsr_exercise:-$xsr_dir/rpmsg-char-exercise}

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

exercise() { "$exercise_binary" "$@"; }
control_service() { echo "${xsr_control:-xs-rpmsg-test-control}"; }

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
  exercise roundtrip "$1" "$2" "$3" "$4"
}

# Through the remote's control service: open a service (NS create -> a channel appears), close it
# (NS destroy -> the channel device must disappear).
step_nsdestroy() {
  control=$(control_service)
  exercise wait-present "$control" "$wait_seconds" &&
  exercise command xsr-control "@$control" "open xsr-ns-probe" &&
  exercise wait-present xsr-ns-probe "$wait_seconds" &&
  exercise command xsr-control "@$control" "close xsr-ns-probe" &&
  exercise wait-gone xsr-ns-probe "$wait_seconds"
}

# host -> remote -> host: numbered, checksummed messages to the echo service.
step_flood() {
  spec=${xsr_flood:-100000:128}
  old_ifs=$IFS; IFS=:; set -- $spec; IFS=$old_ifs
  exercise wait-present rpmsg-client-sample "$wait_seconds" &&
  exercise flood xsr-flood @rpmsg-client-sample "$1" "$2"
}

# remote -> host: the control service's burst, every message checked.
step_burst() {
  spec=${xsr_burst:-10000:496}
  old_ifs=$IFS; IFS=:; set -- $spec; IFS=$old_ifs
  exercise wait-present "$(control_service)" "$wait_seconds" &&
  exercise burst xsr-burst "@$(control_service)" "$1" "$2"
}

step_many() {
  spec=${xsr_many:-64:10}
  old_ifs=$IFS; IFS=:; set -- $spec; IFS=$old_ifs
  exercise wait-present rpmsg-client-sample "$wait_seconds" &&
  exercise many xsr-ep @rpmsg-client-sample "$1" "$2"
}

step_zero() {
  exercise wait-present rpmsg-client-sample "$wait_seconds" &&
  exercise zero xsr-zero @rpmsg-client-sample
}

# A write to a remote address nobody listens at, then the remote's counters.
step_unknown() {
  exercise wait-present "$(control_service)" "$wait_seconds" &&
  exercise unknown xsr-unknown "${xsr_unknown:-0x7777}" &&
  exercise command xsr-stats "@$(control_service)" stats
}

# The remote stops taking messages for xsr_stall_ms (default 17000): the host's writes take every
# TX buffer, the next one blocks for virtio_rpmsg_bus's 15 s and fails.
step_stall() {
  exercise wait-present "$(control_service)" "$wait_seconds" &&
  exercise command xsr-pause "@$(control_service)" "pause ${xsr_stall_ms:-17000}" &&
  exercise stall xsr-stall @rpmsg-client-sample
}

# The remote sends one message to a host address nobody listens at.
step_send() {
  exercise wait-present "$(control_service)" "$wait_seconds" &&
  exercise command xsr-send "@$(control_service)" "send ${xsr_send:-0x7000} 16"
}

# virtio_rpmsg_bus unbound from virtio0 and bound again through sysfs while the remote runs.
rebind() {
  driver=/sys/bus/virtio/drivers/virtio_rpmsg_bus
  echo virtio0 > $driver/unbind || { say "FAIL unbind virtio0"; return 1; }
  say "virtio_rpmsg_bus unbound from virtio0"
  usleep_ms=${xsr_unbind_ms:-100}
  sleep "$(echo "$usleep_ms" | awk '{ printf "%.3f", $1 / 1000 }')"
  echo virtio0 > $driver/bind || { say "FAIL bind virtio0"; return 1; }
  say "virtio_rpmsg_bus bound to virtio0 again"
}

# After a rebind every channel the remote announced must come back and work.
channels_back() {
  exercise wait-present rpmsg-client-sample "$wait_seconds" &&
  exercise wait-present "$(control_service)" "$wait_seconds" &&
  exercise roundtrip "xsr-after-$1" @rpmsg-client-sample 1 64 &&
  exercise command "xsr-control-$1" "@$(control_service)" stats
}

step_rebind() {
  exercise wait-present rpmsg-client-sample "$wait_seconds" &&
  exercise wait-present "$(control_service)" "$wait_seconds" &&
  rebind && channels_back rebind
}

# A rebind with traffic in flight both ways: a flood to the echo service and a burst from the
# control service, each in the background; they must end (failing), the kernel must stay clean.
step_inflight() {
  exercise wait-present rpmsg-client-sample "$wait_seconds" &&
  exercise wait-present "$(control_service)" "$wait_seconds" || return 1
  # The root is read-only and there is no tmpfs: devtmpfs (ramfs underneath) holds the output.
  work=/dev/xsr-work; mkdir -p $work
  exercise flood xsr-inflight-flood @rpmsg-client-sample 1000000 64 > $work/flood.out 2>&1 &
  flood_pid=$!
  exercise burst xsr-inflight-burst "@$(control_service)" 1000000 496 > $work/burst.out 2>&1 &
  burst_pid=$!
  wait_for_output() {
    tries=$((wait_seconds * 20))
    while [ $tries -gt 0 ]; do
      if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
      sleep 0.05; tries=$((tries - 1))
    done
    say "FAIL no \"$2\" in $1"; return 1
  }
  wait_for_output $work/burst.out 'burst 2000 received'
  sleep 0.2
  say "traffic in flight: $(grep -c . $work/burst.out) burst lines"
  rebind
  wait $flood_pid; flood_rc=$?
  wait $burst_pid; burst_rc=$?
  sed 's/^/xsr-init: background: /' $work/flood.out $work/burst.out | grep -v 'burst [0-9]* received'
  say "background flood exit $flood_rc, burst exit $burst_rc"
  channels_back inflight
}

# Through the remote's control service: start a remote->host flood of blocking sends, then go on
# (the next step, or the power-off, ends the host while the remote waits for TX buffers).
step_remoteflood() {
  control=${xsr_control:-xs-rpmsg-test-control}
  exercise wait-present "$control" "$wait_seconds" &&
  exercise command xsr-control "@$control" "flood 1000000 496"
}

# virtio_rpmsg_bus unbound from the rpmsg virtio device and bound again through sysfs while the
# remote runs (Linux's virtio_dev_remove: status 0 then ACKNOWLEDGE), 100 ms apart; the channels
# must come back (the next "creating channel" line after the bind).
step_sysfsrebind() {
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
  exercise list
}

step_rmmod() {
  rmmod rpmsg_client_sample && say "rpmsg_client_sample unloaded"
}

step_sleep() {
  sleep 1
}

# The command-line verbs (xs-rpmsg run --target linux): linux/guest-agent.py on the console
# until it is told to quit. xsr_agent is its path (the host's python3 runs it over hostfs).
step_agent() {
  [ -n "${xsr_agent:-}" ] || { say "FAIL no xsr_agent given"; return 1; }
  wait_for_path /dev/rpmsg_ctrl0 || return 1
  python3 "$xsr_agent" < /dev/console
}

say "init up (steps: ${xsr_steps:-none})"
old_ifs=$IFS; IFS=,; steps=${xsr_steps:-}; set -- $steps; IFS=$old_ifs
for step in "$@"; do
  case "$step" in
    online|sample|char|nsdestroy|list|rmmod|sleep|flood|burst|many|zero|unknown|send|stall|rebind|inflight|agent|remoteflood|sysfsrebind)
      if "step_$step"; then say "step $step ok"; else say "step $step FAILED"; fi ;;
    *) say "unknown step $step" ;;
  esac
done
say "done; powering off"
echo o > /proc/sysrq-trigger
sleep 10
