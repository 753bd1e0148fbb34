#!/usr/bin/env python3
"""The bench's commit clock: one line per nf_tables transaction committed in this network
namespace, as soon as the kernel announces it (its closing NFT_MSG_NEWGEN), with the generation
id, the committing process's PID and the moment this process read it (CLOCK_MONOTONIC, ns: the
clock Node's process.hrtime reads): `{"gen":G,"pid":P,"mono":NS}`. What `nft monitor` announces, without
nft's cache (nft monitor lists the whole ruleset first: 17 s and 650 MB on a host holding a
1,000,000-element set) and without decoding the transaction's other events (one per element).
Prints `ready` once it listens. Exits when stdin closes. Standard library only.
Run it in the namespace to watch: `nsenter --net=/run/netns/NS python3 bench/nft-commits.py`.
"""
import json
import os
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
SO_RCVBUFFORCE = 33
NFT_MSG_NEWGEN = (10 << 8) | 15

sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
try:
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
except OSError:
    pass
sock.bind((0, 0))
sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
print("ready", flush=True)
while True:
    ready, _, _ = select.select([sock, sys.stdin], [], [])
    if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
        break
    if sock not in ready:
        continue
    try:
        data = sock.recv(1 << 20)
        mono = time.monotonic_ns()
    except OSError:  # ENOBUFS: events dropped; the NEWGEN that follows still tells the commit
        continue
    off = 0
    while off + 16 <= len(data):
        ln, ty = struct.unpack_from("=IH", data, off)
        if ln < 16:
            break
        if ty == NFT_MSG_NEWGEN:
            body = data[off + 20:off + ln]
            gen = pid = 0
            at = 0
            while at + 4 <= len(body):
                aln, aty = struct.unpack_from("=HH", body, at)
                if aln < 4:
                    break
                if aty & 0x3FFF == 1:
                    gen = struct.unpack("!I", body[at + 4:at + 8])[0]
                elif aty & 0x3FFF == 2:
                    pid = struct.unpack("!I", body[at + 4:at + 8])[0]
                at += (aln + 3) & ~3
            print(json.dumps({"gen": gen, "pid": pid, "mono": mono}), flush=True)
        off += (ln + 3) & ~3
