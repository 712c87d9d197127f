/*
 * fuzz_node.c - libFuzzer target for whatever a node does with a datagram
 * from a peer: the RPC frame (overlay/rpc.c), every chord and kad16 message
 * and every DHT message, through the real handlers, not a decoder alone.
 *
 * Input: byte 0 picks the network (bit 0: chord or kad16) and whether its
 * DHT hook accepts the blocks stored through it (bit 1; the hook's own
 * parsing is fuzz_block's target); the rest is one datagram, sent by an
 * outsider's endpoint to node 0 of an 8-node simulated network. The
 * simulator then runs 3 s of virtual time, so the node's replies, and the
 * lookups, stores and repairs the message started, complete. The four
 * networks are built on the first input and live across inputs, as a
 * node's state does across datagrams. Checked beyond the sanitizers: node
 * 0 is still alive with its overlay afterwards. Seeds: tests/fuzz/make_seeds
 * (datagrams tapped from such a network while blocks are put and got).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "dht/dht.h"
#include "overlay/overlay.h"
#include "overlay/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FN_NODES 8
#define FN_RUN_US (3ULL * 1000000)

struct fnet {
	struct simnet *sn;
	struct tr *outsider;
	bool accept;
};

static struct fnet nets[4];

static void hook(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk,
		 size_t len, dht_validate_done_cb done, void *done_arg)
{
	const struct fnet *f = arg;
	(void)d;
	(void)key;
	if (!f->accept || len == 0) {
		done(done_arg, DDNS_EBOGUS, NULL);
		return;
	}
	struct dht_block_meta m;
	memset(&m, 0, sizeof(m));
	m.zone[0] = blk[0];
	m.zone_len = 1;
	m.version = len; /* any order will do; longer replaces shorter */
	m.expire_us = UINT64_MAX / 4;
	done(done_arg, 0, &m);
}

static void outsider_recv(void *arg, const struct tr_addr *from, const uint8_t *d, size_t len)
{
	(void)arg;
	(void)from;
	(void)d;
	(void)len; /* replies to the outsider are dropped */
}

static void build(struct fnet *f, int which)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = (which & 1) ? &kad16_ops : &chord_ops;
	p.seed = 1000 + (uint64_t)which;
	p.join_gap_us = 50000;
	p.settle_us = 10ULL * 1000000;
	p.validate = hook;
	p.validate_arg = f;
	f->accept = (which & 2) != 0;
	f->sn = simnet_new(&p);
	if (!f->sn || simnet_grow(f->sn, FN_NODES) != 0)
		abort();
	struct tr_addr a = tr_addr_v4((10u << 24) | 0xfffffe, 4000);
	f->outsider = sim_node_add(simnet_sim(f->sn), &a);
	if (!f->outsider)
		abort();
	tr_set_recv(f->outsider, outsider_recv, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct fnet *f = &nets[data[0] & 3];
	if (!f->sn)
		build(f, data[0] & 3);
	struct tr *victim = simnet_tr(f->sn, 0);
	if (size - 1 <= victim->mtu &&
	    tr_send(f->outsider, &victim->self, data + 1, size - 1) != 0)
		abort();
	simnet_run(f->sn, FN_RUN_US);
	if (!simnet_alive(f->sn, 0) || !simnet_ovl(f->sn, 0))
		abort();
	return 0;
}
