#!/usr/bin/env python3
"""Send malformed DNS queries to a gateway over UDP and TCP.

Usage: malformed.py ADDR PORT

Random bytes, truncated headers, QDCOUNT=0, bogus EDNS (two OPT records,
a version-1 OPT, an OPT whose RDLENGTH overruns the packet, an OPT with a
non-root owner), a compression loop, a response instead of a query, and a
TCP length prefix that promises more than is sent. After each batch a valid
query must still be answered. Exits 0 when the gateway answered every
valid query; prints what it saw for the malformed ones.
"""
import random
import socket
import struct
import sys

ADDR, PORT = sys.argv[1], int(sys.argv[2])
rng = random.Random(6)


def qname(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name="www.example.org", qtype=1, qclass=1):
    return qname(name) + struct.pack("!HH", qtype, qclass)


def opt(version=0, rdlen=0, owner=b"\0", data=b"", size=4096):
    return owner + struct.pack("!HHBBHH", 41, size, 0, version, 0x8000, rdlen) + data


def valid(qid):
    return header(qid, ar=1) + question() + opt()


CASES = [
    ("empty", b""),
    ("one byte", b"\x01"),
    ("short header", header(1)[:7]),
    ("header only, qd=1", header(2)),
    ("qdcount=0", header(3, qd=0)),
    ("qdcount=2", header(4, qd=2) + question() + question("mail.example.org")),
    ("truncated question", header(5) + question()[:-3]),
    ("two OPT records", header(6, ar=2) + question() + opt() + opt()),
    ("EDNS version 1", header(7, ar=1) + question() + opt(version=1)),
    ("OPT rdlen overrun", header(8, ar=1) + question() + opt(rdlen=200)),
    ("OPT non-root owner", header(9, ar=1) + question() + opt(owner=qname("x"))),
    ("OPT option overrun", header(10, ar=1) + question() + opt(rdlen=6, data=b"\x00\x0a\x00\x10ab")),
    ("OPT tiny buffer", header(11, ar=1) + question() + opt(size=1)),
    ("compression loop", header(12) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)),
    ("label too long", header(13) + b"\x40" + b"a" * 64 + b"\0" + struct.pack("!HH", 1, 1)),
    ("response", header(14, flags=0x8180) + question()),
    ("opcode 15", header(15, flags=0x7900) + question()),
    ("class ANY meta", header(16) + question(qtype=255, qclass=255)),
    ("counts lie", header(17, qd=1, an=500, ns=500, ar=500) + question()),
    ("trailing junk", header(18) + question() + b"\xff" * 40),
]
for i in range(40):
    n = rng.randrange(0, 600)
    CASES.append(("random %d bytes" % n, bytes(rng.randrange(256) for _ in range(n))))
for i in range(20):
    pkt = bytearray(valid(100 + i))
    for _ in range(rng.randrange(1, 6)):
        pkt[rng.randrange(len(pkt))] = rng.randrange(256)
    CASES.append(("mutated valid #%d" % i, bytes(pkt)))


def udp(pkt, timeout=0.5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, (ADDR, PORT))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None
    finally:
        s.close()


def tcp(pkt, prefix=None, timeout=2.0):
    s = socket.create_connection((ADDR, PORT), timeout=timeout)
    try:
        length = len(pkt) if prefix is None else prefix
        s.sendall(struct.pack("!H", length) + pkt)
        if prefix is not None:
            s.shutdown(socket.SHUT_WR)
        data = b""
        try:
            while True:
                chunk = s.recv(65535)
                if not chunk:
                    break
                data += chunk
                if len(data) >= 2 and len(data) >= 2 + struct.unpack("!H", data[:2])[0]:
                    break
        except socket.timeout:
            pass
        return data[2:] if len(data) >= 2 else None
    finally:
        s.close()


def rcode(ans):
    return None if not ans or len(ans) < 12 else ans[3] & 0xF


def check_alive(where):
    for attempt in range(3):
        ans = udp(valid(0x4242), timeout=2.0)
        if ans and ans[:2] == b"\x42\x42" and rcode(ans) == 0:
            return
    print("FAIL: no answer to a valid query after %s" % where)
    sys.exit(1)


answered = dropped = 0
for name, pkt in CASES:
    ans = udp(pkt)
    if ans is None:
        dropped += 1
    else:
        answered += 1
        if name in ("qdcount=0", "qdcount=2", "two OPT records") and rcode(ans) != 1:
            print("note: %s answered with rcode %s (FORMERR expected)" % (name, rcode(ans)))
check_alive("the UDP batch")
print("udp: %d malformed queries, %d answered (FORMERR/BADVERS/...), %d dropped"
      % (len(CASES), answered, dropped))

tcp_cases = CASES[:20]
for name, pkt in tcp_cases:
    try:
        tcp(pkt)
    except OSError:
        pass
for short in (b"", header(1)[:5], valid(77)[:20]):
    try:
        tcp(short, prefix=300)  # promise 300 octets, send fewer, close
    except OSError:
        pass
check_alive("the TCP batch")
ans = tcp(valid(0x4343))
if not ans or rcode(ans) != 0:
    print("FAIL: no TCP answer to a valid query after the TCP batch")
    sys.exit(1)
print("tcp: %d malformed queries and 3 short frames; still answering on udp and tcp"
      % len(tcp_cases))
