#!/usr/bin/env python3
"""Write the seed corpora for fuzz_msg and fuzz_zone (run from anywhere).

Seeds are small hand-built DNS messages (queries, responses with
compression, EDNS, DNSSEC records, and the hostile shapes the unit tests
reject) and master-file snippets exercising every syntax feature."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def hdr(id_, flags, qd, an, ns, ar):
    return struct.pack("!HHHHHH", id_, flags, qd, an, ns, ar)


def rr(owner, t, ttl, rdata, cls=1):
    return owner + struct.pack("!HHIH", t, cls, ttl, len(rdata)) + rdata


def q(n, t=1):
    return name(n) + struct.pack("!HH", t, 1)


msgs = {}
msgs["query_a"] = hdr(1, 0x0100, 1, 0, 0, 0) + q("www.example.com.")
opt = rr(b"\0", 41, 0x8000, struct.pack("!HH", 10, 8) + b"cookie!!", cls=1232)
msgs["query_edns_do"] = hdr(2, 0x0100, 1, 0, 0, 1) + q("example.", 48) + opt
# Response with compression pointers (0xc00c = the qname).
ptr = b"\xc0\x0c"
resp = hdr(3, 0x8580, 1, 2, 1, 1) + q("www.example.com.")
resp += rr(ptr, 5, 300, b"\3web" + b"\xc0\x10")
resp += rr(b"\3web\xc0\x10", 1, 300, bytes([192, 0, 2, 1]))
resp += rr(b"\xc0\x10", 2, 3600, b"\2ns\xc0\x10")
resp += rr(b"\2ns\xc0\x10", 28, 3600, bytes(15) + b"\1")
msgs["response_compressed"] = resp
soa = name("ns.example.") + name("admin.example.") + struct.pack("!IIIII", 1, 2, 3, 4, 5)
msgs["nxdomain_soa"] = hdr(4, 0x8183, 1, 0, 1, 0) + q("nope.example.") + rr(name("example."), 6, 60, soa)
rrsig = struct.pack("!HBBIIIH", 1, 13, 2, 60, 1700000000, 1690000000, 4242) + name("example.") + bytes(64)
nsec = name("b.example.") + bytes([0, 6, 0x40, 0x01, 0, 0, 0, 0x03])
key = struct.pack("!HBB", 257, 3, 13) + bytes(range(64))
ds = struct.pack("!HBB", 4242, 13, 2) + bytes(32)
dnssec = hdr(5, 0x8400, 1, 4, 0, 1) + q("a.example.", 1)
dnssec += rr(ptr, 1, 60, bytes([192, 0, 2, 9])) + rr(ptr, 46, 60, rrsig)
dnssec += rr(ptr, 47, 60, nsec) + rr(name("example."), 48, 60, key) + rr(name("c.example."), 43, 60, ds)
msgs["dnssec_response"] = dnssec[:] + opt
txt = b"\5hello\0\3abc"
caa = b"\0\5issue" + b"ca.example"
srv = struct.pack("!HHH", 0, 5, 5060) + name("sip.example.")
mx = struct.pack("!H", 10) + b"\4mail\xc0\x0c"
misc = hdr(6, 0x8400, 1, 6, 0, 0) + q("example.")
misc += rr(ptr, 16, 1, txt) + rr(ptr, 257, 1, caa) + rr(ptr, 33, 1, srv) + rr(ptr, 15, 1, mx)
misc += rr(ptr, 12, 1, b"\xc0\x0c") + rr(ptr, 65000, 1, b"\xde\xad")
msgs["misc_types"] = misc
# Hostile shapes.
msgs["bad_loop"] = hdr(7, 0, 1, 0, 0, 0) + b"\1a\xc0\x0c" + struct.pack("!HH", 1, 1)
msgs["bad_forward"] = hdr(8, 0, 1, 0, 0, 0) + b"\xc0\x12\0\1\0\1\0"
msgs["bad_label64"] = hdr(9, 0, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\0\0\1\0\1"
msgs["bad_counts"] = hdr(10, 0, 0, 200, 0, 0) + rr(b"\0", 1, 1, b"\1\2\3\4")
msgs["bad_rdlen"] = hdr(11, 0, 0, 1, 0, 0) + rr(b"\0", 1, 1, b"\1\2\3\4")[:-2]
msgs["bad_two_opts"] = hdr(12, 0, 0, 0, 0, 2) + opt + opt
msgs["bad_long_name"] = hdr(13, 0, 1, 0, 0, 0) + (b"\x3f" + b"x" * 63) * 5 + b"\0\0\1\0\1"

zones = {}
zones["features"] = """$ORIGIN example.com.
$TTL 1h2m
@ IN SOA ns hostmaster ( 2024010101 ; serial
        2h 1H 1w 5M )
    NS ns
ns 300 A 192.0.2.53
www IN 60 AAAA 2001:db8::1
    TXT "semi;colon" "quote\\"d" unquoted "\\000\\255"
    MX 10 mail
esc\\.dot CH TXT "x"
* TYPE65000 \\# 2 abcd
"""
zones["dnssec"] = """example. 3600 IN DNSKEY 257 3 13 (
  mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+Gq
  JxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== )
example. 3600 IN RRSIG DNSKEY 13 1 3600 20240201000000 1704067200 2371 example. AAECAw==
example. 3600 IN NSEC a.example. NS SOA RRSIG NSEC DNSKEY TYPE1234
a.example. 3600 IN DS 60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A
"""
zones["misc"] = """_sip._udp.example. 60 IN SRV 0 5 5060 sip.example.
example. 60 IN CAA 0 issue "ca.example; account=1"
1.2.0.192.in-addr.arpa. 60 IN PTR host.example.
alias.example. 60 IN CNAME host.example.
odd.example. 0 CLASS42 TYPE4242 \\# 3 ABCDEF
"""
zones["errors"] = """a.example. A 300.1.1.1
( unbalanced
"open quote
$TTL x
"""

for d, items in (("msg", msgs), ("zone", zones)):
    os.makedirs(os.path.join(here, "corpus", d), exist_ok=True)
    for k, v in items.items():
        with open(os.path.join(here, "corpus", d, k), "wb") as f:
            f.write(v if isinstance(v, bytes) else v.encode())
