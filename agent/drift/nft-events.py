#!/usr/bin/env python3
"""nft-sync's drift listener: the nf_tables netlink events of one network namespace, one JSON
line per committed transaction, without nft's cache.

Why not `nft monitor`: nft fills its whole cache first (17 s of CPU and 650 MB on a host holding a
1,000,000-element set) and `nft -j monitor` does not say who committed. This script joins the
NFNLGRP_NFTABLES multicast group of NETLINK_NETFILTER and decodes only what drift detection needs:
table, chain, set and object names, rule handles, element keys (hex), and each transaction's
closing NFT_MSG_NEWGEN (generation id and the committing process's PID). Standard library only.

Run it in the namespace to watch (`ip netns exec NS python3 nft-events.py`). stdin carries
commands, one a line, each answered on stdout:
  pause   leave the group (the kernel stops building events for us) -> {"t":"paused","gen":G}
          G is the generation of the last transaction seen; events of a transaction cut in half
          by the pause are dropped (the generation delta on resume accounts for it).
  resume  join again, then read the generation                       -> {"t":"resumed","gen":G}
  gen     read the generation now                                    -> {"t":"gen","gen":G,"seen":S}
          S is the generation of the last transaction seen.
Other lines on stdout: {"t":"ready","gen":G} once listening; {"t":"tx",...} per transaction
(its "tables" lists every table it touched, even when its events were capped);
{"t":"lost"} when the kernel dropped events (the socket buffer overflowed).
It exits when stdin closes or its parent process is gone (the agent died, even by SIGKILL).
"""
import errno
import json
import os
import select
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_DROP_MEMBERSHIP = 2
SO_RCVBUFFORCE = 33
NFNL_SUBSYS_NFTABLES = 10
NLM_F_REQUEST = 0x1
NLM_F_REPLACE = 0x100
NFT_MSG_NEWGEN = 15
NFT_MSG_GETGEN = 16
RCVBUF = 8 << 20
# A transaction's events are kept up to these caps; beyond, only counted ("truncated": the agent
# then re-applies instead of healing a delta).
MAX_ELEMS = 10000
MAX_EVENTS = 2000

FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
# message type -> (op, kind, attribute of the table, attribute of the name or None)
MESSAGES = {
    0: ("add", "table", 1, None), 2: ("del", "table", 1, None), 26: ("del", "table", 1, None),
    3: ("add", "chain", 1, 3), 5: ("del", "chain", 1, 3), 27: ("del", "chain", 1, 3),
    6: ("add", "rule", 1, 2), 8: ("del", "rule", 1, 2), 28: ("del", "rule", 1, 2),
    9: ("add", "set", 1, 2), 11: ("del", "set", 1, 2), 29: ("del", "set", 1, 2),
    12: ("add", "element", 1, 2), 14: ("del", "element", 1, 2), 30: ("del", "element", 1, 2),
    18: ("add", "obj", 1, 2), 20: ("del", "obj", 1, 2), 31: ("del", "obj", 1, 2),
    22: ("add", "flowtable", 1, 2), 24: ("del", "flowtable", 1, 2), 32: ("del", "flowtable", 1, 2),
}


def attrs(buf, off=0, end=None):
    """{type: bytes} of the netlink attributes in buf[off:end] (last one wins)."""
    out = {}
    end = len(buf) if end is None else end
    while off + 4 <= end:
        ln, ty = struct.unpack_from("=HH", buf, off)
        if ln < 4 or off + ln > end:
            break
        out[ty & 0x3FFF] = buf[off + 4:off + ln]
        off += (ln + 3) & ~3
    return out


def attr_list(buf):
    """The attributes of buf in order, as (type, bytes)."""
    out, off = [], 0
    while off + 4 <= len(buf):
        ln, ty = struct.unpack_from("=HH", buf, off)
        if ln < 4 or off + ln > len(buf):
            break
        out.append((ty & 0x3FFF, buf[off + 4:off + ln]))
        off += (ln + 3) & ~3
    return out


def cstr(b):
    return b.split(b"\0", 1)[0].decode("utf-8", "replace") if b is not None else None


def emit(obj):
    try:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        os._exit(0)


class Listener:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.sock.bind((0, 0))
        self.sock.setblocking(False)
        self.query_sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.query_sock.bind((0, 0))
        self.query_sock.settimeout(5)
        self.seq = 0
        self.seen = 0
        self.subscribed = False
        self.reset_tx()

    def reset_tx(self):
        self.events = []
        self.tables = {}
        self.nelems = 0
        self.truncated = False

    def subscribe(self, on):
        opt = NETLINK_ADD_MEMBERSHIP if on else NETLINK_DROP_MEMBERSHIP
        self.sock.setsockopt(SOL_NETLINK, opt, NFNLGRP_NFTABLES)
        self.subscribed = on

    def query_gen(self):
        """The generation id now (NFT_MSG_GETGEN on a socket of its own)."""
        self.seq += 1
        msg = struct.pack("=IHHII", 20, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, NLM_F_REQUEST, self.seq, 0)
        self.query_sock.send(msg + struct.pack("!BBH", 0, 0, 0))
        while True:
            data = self.query_sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                ln, ty, _fl, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if ln < 16:
                    break
                if seq == self.seq and ty == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN:
                    a = attrs(data, off + 20, off + ln)
                    return struct.unpack("!I", a[1])[0]
                if seq == self.seq and ty == 2:  # NLMSG_ERROR
                    code = struct.unpack_from("=i", data, off + 16)[0]
                    raise OSError(-code, "GETGEN failed")
                off += (ln + 3) & ~3

    def read_events(self):
        """Read and decode whatever the socket holds now."""
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    self.reset_tx()
                    emit({"t": "lost"})
                    continue
                raise
            off = 0
            while off + 16 <= len(data):
                ln, ty, flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
                if ln < 16:
                    break
                if ty >> 8 == NFNL_SUBSYS_NFTABLES and off + 20 <= off + ln:
                    self.message(ty & 0xFF, flags, data[off + 16:off + ln])
                off += (ln + 3) & ~3

    def message(self, msg, flags, body):
        family = FAMILIES.get(body[0], str(body[0]))
        a = attrs(body, 4)
        if msg == NFT_MSG_NEWGEN:
            gen = struct.unpack("!I", a[1])[0] if 1 in a else 0
            pid = struct.unpack("!I", a[2])[0] if 2 in a else 0
            self.seen = max(self.seen, gen)
            emit({"t": "tx", "gen": gen, "pid": pid, "proc": cstr(a.get(3)) or "",
                  "tables": list(self.tables.values()), "events": self.events, "truncated": self.truncated})
            self.reset_tx()
            return
        spec = MESSAGES.get(msg)
        if spec is None:
            return
        op, kind, table_attr, name_attr = spec
        if kind == "rule" and op == "add" and flags & NLM_F_REPLACE:
            op = "replace"
        ev = {"op": op, "kind": kind, "family": family, "table": cstr(a.get(table_attr)) or ""}
        self.tables.setdefault((family, ev["table"]), [family, ev["table"]])
        if name_attr is not None:
            ev["chain" if kind == "rule" else "name"] = cstr(a.get(name_attr)) or ""
        if kind == "rule" and 3 in a:
            ev["handle"] = struct.unpack("!Q", a[3])[0]
        if kind == "element":
            self.elements(ev, a.get(3, b""))
            return
        if len(self.events) >= MAX_EVENTS:
            self.truncated = True
            return
        self.events.append(ev)

    def elements(self, ev, nested):
        elems = []
        count = 0
        for ty, elem in attr_list(nested):
            if ty != 1:  # NFTA_LIST_ELEM
                continue
            count += 1
            if self.nelems >= MAX_ELEMS:
                self.truncated = True
                continue
            self.nelems += 1
            e = attrs(elem)
            out = {"k": attrs(e[1]).get(1, b"").hex() if 1 in e else ""}
            if 9 in e:  # NFTA_SET_ELEM_KEY_END
                out["e"] = attrs(e[9]).get(1, b"").hex()
            if 3 in e:  # NFTA_SET_ELEM_FLAGS
                f = struct.unpack("!I", e[3])[0]
                if f:
                    out["f"] = f
            if 2 in e:  # NFTA_SET_ELEM_DATA (a map)
                out["d"] = True
            elems.append(out)
        last = self.events[-1] if self.events else None
        if last and last["kind"] == "element" and all(last.get(k) == ev.get(k) for k in ("op", "family", "table", "name")):
            last["elems"].extend(elems)
            last["count"] += count
            return
        if len(self.events) >= MAX_EVENTS:
            self.truncated = True
            return
        ev["elems"] = elems
        ev["count"] = count
        self.events.append(ev)


def main():
    parent = os.getppid()
    lst = Listener()
    lst.subscribe(True)
    lst.seen = lst.query_gen()
    emit({"t": "ready", "gen": lst.seen})
    pending = b""
    stdin = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([lst.sock, stdin], [], [], 1.0)
        if os.getppid() != parent:
            return
        if lst.sock in ready:
            lst.read_events()
        if stdin in ready:
            chunk = os.read(stdin, 4096)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                command(lst, line.strip().decode("ascii", "replace"))


def command(lst, cmd):
    if cmd == "pause":
        lst.read_events()
        lst.subscribe(False)
        lst.read_events()
        lst.reset_tx()
        emit({"t": "paused", "gen": lst.seen})
    elif cmd == "resume":
        lst.subscribe(True)
        gen = lst.query_gen()
        lst.seen = max(lst.seen, gen)
        emit({"t": "resumed", "gen": gen})
    elif cmd == "gen":
        lst.read_events()
        emit({"t": "gen", "gen": lst.query_gen(), "seen": lst.seen})


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    except Exception as e:  # the agent logs this line and restarts the listener
        sys.stderr.write("nft-events: %s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
