#!/usr/bin/env python3
"""The command-line verbs inside the User-Mode Linux guest (xs-rpmsg run --target linux).

Runs as a step of linux/init.sh, with the console as stdin/stdout. Reads one JSON request per
line ({"id": N, "verb": "channels" | "send" | "listen" | "quit", ...}) and answers with lines
"xsr-agent: {json}" ({"id", "event"} while listening, then {"id", "ok", "result" | "error"}).
Everything goes through the real kernel's userland interface: channels from
/sys/bus/rpmsg/devices, endpoints made with RPMSG_CREATE_EPT_IOCTL on /dev/rpmsg_ctrl0 and used
through /dev/rpmsgN (one message per read and write), removed with RPMSG_DESTROY_EPT_IOCTL. A listen runs in a child
process ({"verb": "stop", "listen": ID} ends it), so other requests are served meanwhile.
"""
import errno
import fcntl
import json
import os
import select
import signal
import struct
import sys
import termios
import time

# include/uapi/linux/rpmsg.h: struct rpmsg_endpoint_info { char name[32]; __u32 src; __u32 dst; }
RPMSG_ADDR_ANY = 0xFFFFFFFF
RPMSG_CREATE_EPT_IOCTL = (1 << 30) | (40 << 16) | (0xB5 << 8) | 1  # _IOW(0xb5, 0x1, struct rpmsg_endpoint_info)
RPMSG_DESTROY_EPT_IOCTL = (0xB5 << 8) | 2  # _IO(0xb5, 0x2)
MTU = 496


def say(obj):
    sys.stdout.write("xsr-agent: " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def channels():
    """Channels as rpmsg_register_device names them: <parent>.<name>.<src>.<dst>."""
    found = []
    for entry in sorted(os.listdir("/sys/bus/rpmsg/devices")):
        parts = entry.split(".")
        if len(parts) < 4:
            continue
        name = ".".join(parts[1:-2])
        if name in ("rpmsg_ctrl", "rpmsg_ns"):
            continue
        driver = os.path.join("/sys/bus/rpmsg/devices", entry, "driver")
        found.append({
            "name": name,
            "remote": int(parts[-1]) & 0xFFFFFFFF,
            "local": None if parts[-2] == "-1" else int(parts[-2]),
            "driver": os.path.basename(os.readlink(driver)) if os.path.islink(driver) else None,
            "device": entry,
        })
    return found


def channel(name):
    for c in channels():
        if c["name"] == name:
            return c
    raise OSError(errno.ENOENT, "no channel %s on the rpmsg bus (channels: %s)" % (name, ", ".join(c["name"] for c in channels()) or "none"))


class Endpoint:
    """RPMSG_CREATE_EPT_IOCTL + open of the /dev/rpmsgN it made; close() destroys it."""

    def __init__(self, name, dst):
        self.ctrl = os.open("/dev/rpmsg_ctrl0", os.O_RDWR)
        tag = ("xsr-cli-%d" % os.getpid())[:31]
        info = struct.pack("32sII", tag.encode(), RPMSG_ADDR_ANY, dst)
        fcntl.ioctl(self.ctrl, RPMSG_CREATE_EPT_IOCTL, info)
        path = None
        for _ in range(200):
            for dev in os.listdir("/sys/class/rpmsg"):
                try:
                    with open("/sys/class/rpmsg/%s/name" % dev) as f:
                        if f.read().strip() == tag and dev != "rpmsg_ctrl0":
                            path = "/dev/" + dev
                except OSError:
                    pass
            if path and os.path.exists(path):
                break
            time.sleep(0.01)
        if not path:
            os.close(self.ctrl)
            raise OSError(errno.ENODEV, "the endpoint device for %s did not appear" % name)
        self.path = path
        self.fd = os.open(path, os.O_RDWR)

    def read(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        return os.read(self.fd, MTU)

    def close(self):
        try:
            fcntl.ioctl(self.fd, RPMSG_DESTROY_EPT_IOCTL)
        except OSError:
            pass
        os.close(self.fd)
        os.close(self.ctrl)


def send(request):
    c = channel(request["channel"])
    data = bytes.fromhex(request.get("hex", ""))
    ept = Endpoint(c["name"], c["remote"])
    try:
        started = time.monotonic()
        os.write(ept.fd, data)
        result = {"channel": c["name"], "remote": c["remote"], "sent": len(data), "device": ept.path, "reply": None}
        if request.get("wait", True):
            reply = ept.read(request.get("timeoutMs", 2000) / 1000.0)
            if reply is None:
                result["replyNote"] = "no reply within %d ms" % request.get("timeoutMs", 2000)
            else:
                result["reply"] = {"from": c["remote"], "hex": reply.hex()}
                result["roundTripMs"] = (time.monotonic() - started) * 1000
        return result
    finally:
        ept.close()


def listen(request):
    """In a child process: messages arriving at an endpoint of ours on the channel (cat /dev/rpmsgN), until count or SIGTERM."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    rid = request["id"]
    seen = 0
    try:
        c = channel(request["channel"])
        ept = Endpoint(c["name"], c["remote"])
    except OSError as error:
        code = errno.errorcode.get(error.errno, "EIO")
        say({"id": rid, "ok": False, "error": {"code": code, "message": "%s: %s" % (code, error.strerror or error)}})
        return
    count = request.get("count", 0)
    try:
        say({"id": rid, "event": {"kind": "listening", "channel": c["name"], "device": ept.path}})
        while not stopping and (count == 0 or seen < count):
            try:
                ready, _, _ = select.select([ept.fd], [], [], 0.2)
            except InterruptedError:
                continue
            if not ready:
                continue
            try:
                data = os.read(ept.fd, MTU)
            except OSError as error:
                code = errno.errorcode.get(error.errno, "EIO")
                say({"id": rid, "ok": False, "error": {"code": code, "message": "%s: %s: the endpoint is gone (channel removed?)" % (code, ept.path)}})
                return
            seen += 1
            say({"id": rid, "event": {"kind": "message", "channel": c["name"], "from": c["remote"], "length": len(data), "hex": data.hex()}})
        say({"id": rid, "ok": True, "result": {"channel": c["name"], "messages": seen}})
    finally:
        ept.close()


def main():
    stdin = sys.stdin.fileno()
    try:
        attributes = termios.tcgetattr(stdin)
        attributes[3] &= ~(termios.ECHO | termios.ICANON)  # no echo of requests; lines still end with \n
        termios.tcsetattr(stdin, termios.TCSANOW, attributes)
    except termios.error:
        pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # listeners are reaped by the kernel
    listeners = {}
    say({"ready": True})
    buffer = b""
    while True:
        chunk = os.read(stdin, 4096)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            line = line.strip()
            if not line:
                continue
            try:
                request = json.loads(line)
            except ValueError:
                continue
            rid = request.get("id")
            try:
                verb = request.get("verb")
                if verb == "quit":
                    say({"id": rid, "ok": True, "result": {"quitting": True}})
                    return
                if verb == "channels":
                    result = {"channels": channels()}
                elif verb == "send":
                    result = send(request)
                elif verb == "listen":
                    pid = os.fork()
                    if pid == 0:
                        try:
                            listen(request)
                        finally:
                            os._exit(0)
                    listeners[rid] = pid
                    continue
                elif verb == "stop":
                    pid = listeners.pop(request.get("listen"), None)
                    if pid:
                        try:
                            os.kill(pid, signal.SIGTERM)
                        except OSError:
                            pass
                    continue
                else:
                    raise OSError(errno.EINVAL, "unknown verb %r (channels, send, listen, stop, quit)" % verb)
                say({"id": rid, "ok": True, "result": result})
            except OSError as error:
                code = errno.errorcode.get(error.errno, "EIO")
                say({"id": rid, "ok": False, "error": {"code": code, "message": "%s: %s" % (code, error.strerror or error)}})


if __name__ == "__main__":
    main()
