/*
 * testbed_conv.h - the conventional DNS stack beside the testbed
 * (`ddns testbed --conventional`, docs/TESTBED.md).
 *
 * From the zones the testbed publishes (the root and one zone per TLD), it
 * builds the hierarchy a conventional operator would run: the root, every
 * TLD, and one zone per registered domain of the names (the TLD zone
 * delegates them), each signed with dnssec-signzone (algorithm 13, the
 * testbed's own root and TLD keys, a new key per registered domain, DS in
 * the parent), served by three NSD processes (root, TLDs, registered
 * domains: no NSD serves a zone and its parent, so every referral is
 * real), and resolved by a validating Unbound whose only trust anchor is
 * the testbed's root key and whose only root hint is the loopback root.
 *
 * Every name server address (127.0.53.1 for the root, 127.0.54.x for the
 * TLDs, 127.0.55.x for the registered domains, port 53) is a relay socket
 * in the testbed process: it forwards each query to the NSD of its level
 * and holds the answer for the round trip between the resolver's matrix
 * host and its own (udp_tr_opts.delay), so the conventional stack sees the
 * same emulated wide area as the nodes. The relays count every upstream
 * query and report its name, so the query engine can charge it to the
 * lookup that caused it. Everything listens on 127.0.0.0/8 only; Unbound
 * knows no address outside it. Binding port 53 needs root (or
 * CAP_NET_BIND_SERVICE). cli/ code: it may use clocks, sockets, processes.
 */
#ifndef DDNS_CLI_TESTBED_CONV_H
#define DDNS_CLI_TESTBED_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/transport.h"

struct event_base;
struct tb_latency;
struct tb_conv;

/* A zone of the testbed: its name ("com.") and unsigned master file, the
 * base path of its key pair (K<name>+013+<tag>), and of the key whose DS
 * the parent publishes (NULL: the same; another: a broken chain). */
struct tb_conv_zone {
	const char *name, *file, *key, *ds_key;
};

struct tb_conv_cfg {
	struct event_base *base;
	const char *dir;      /* the testbed's work directory: conv/ goes below */
	const char *self;     /* this program (ddns keygen for the new zones) */
	const char *log;      /* helper log */
	const char *root_key; /* base path of the testbed's root key */
	const char *root_soa; /* the root zone's SOA line (master-file syntax) */
	const struct tb_conv_zone *zones;
	size_t nzones;
	struct tb_latency *lat;      /* NULL: no emulated delays */
	uint32_t resolver_idx;       /* the resolver's node index in lat */
	uint32_t first_server_idx;   /* name server i is node first_server_idx + i */
};

/* An upstream query (qname in uncompressed lowercase wire form) reached a
 * name server. */
typedef void (*tb_conv_upstream_cb)(void *arg, const uint8_t *qname, size_t len);

/* Build, sign, start and wait until every server answers. NULL on error
 * with a one-line message in err (every process started is stopped). */
struct tb_conv *tb_conv_start(const struct tb_conv_cfg *cfg, char *err, size_t errlen);

/* Stop every process by its PID, close the relays. NULL is a no-op. */
void tb_conv_stop(struct tb_conv *c);

/* Where Unbound listens. */
const struct tr_addr *tb_conv_resolver(const struct tb_conv *c);
void tb_conv_set_upstream_cb(struct tb_conv *c, tb_conv_upstream_cb cb, void *arg);
/* Upstream queries the name servers received so far. */
uint64_t tb_conv_upstream(const struct tb_conv *c);
/* Zones served: 1 root + TLDs + registered domains. */
size_t tb_conv_zones(const struct tb_conv *c);
/* The PIDs of the NSD and Unbound processes (n of them, at most 4). */
size_t tb_conv_pids(const struct tb_conv *c, long *pids, size_t max);

#endif
