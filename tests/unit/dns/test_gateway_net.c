/*
 * test_gateway_net.c - the gateway's sockets (dns/gw_net.c) on loopback:
 * UDP answers, TC over UDP and the full answer over TCP (RFC 7766 framing),
 * pipelined TCP queries, the connection limit, idle timeouts, zero-length
 * frames and garbage. The DHT behind it runs on the simulator; the test
 * pumps the libevent loop and the simulator together until the client
 * socket is ready (bounded in wall-clock time).
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/dns/gw_world.h"

static struct world *W;
static struct event_base *B;
static struct gw *G;

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the event loop and the simulator until fd is readable (true) or
 * timeout_ms passes (false). */
static bool pump(int fd, unsigned timeout_ms)
{
	uint64_t end = wall_ms() + timeout_ms;
	while (wall_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		event_base_loop(B, EVLOOP_NONBLOCK);
		for (int i = 0; i < 200 && sim_step(simnet_sim(W->net)); i++)
			;
		event_base_loop(B, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 2) > 0)
			return true;
	}
	return false;
}

static unsigned rate_limit; /* gw_params.rate_limit of the next setup */
static uint16_t udp_max;     /* gw_params.udp_max of the next setup (0: default) */

static void setup(unsigned max_conns, unsigned idle_ms)
{
	struct gw_params p;
	int err;
	W = world_new(&kad16_ops, 12, 201);
	B = event_base_new();
	ck_assert_ptr_nonnull(B);
	gw_params_default(&p);
	p.listen = "127.0.0.1:0";
	p.overlays[0].name = "kad16";
	p.overlays[0].dht = simnet_dht(W->net, 0);
	p.noverlays = 1;
	p.tcp_max_conns = max_conns;
	p.tcp_idle_ms = idle_ms;
	p.rate_limit = rate_limit;
	p.rate_limit_entries = 2;
	if (udp_max)
		p.udp_max = udp_max;
	p.identity = "net-test";
	G = gw_new(B, &p, &err);
	ck_assert_msg(G != NULL, "gw_new: %s", ddns_strerror(err));
	ck_assert_uint_ne(gw_port(G), 0);
}

static void teardown(void)
{
	gw_free(G);
	event_base_free(B);
	world_free(W);
}

static struct sockaddr_in gw_addr(void)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(gw_port(G));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int udp_client(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = gw_addr();
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int tcp_client(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = gw_addr();
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void udp_ask(int fd, const uint8_t *q, size_t qlen, struct dns_msg *m)
{
	static uint8_t buf[65536];
	ck_assert_int_eq(send(fd, q, qlen, 0), (ssize_t)qlen);
	ck_assert(pump(fd, 10000));
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	ck_assert_int_gt(n, 0);
	dns_msg_init(m);
	ck_assert_int_eq(dns_msg_parse(m, buf, (size_t)n), 0);
}

/* Read exactly len bytes from a TCP socket, pumping; false on EOF. */
static bool tcp_read(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ck_assert(pump(fd, 10000));
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static void tcp_send(int fd, const uint8_t *q, size_t qlen)
{
	uint8_t hdr[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
	ck_assert_int_eq(send(fd, hdr, 2, 0), 2);
	ck_assert_int_eq(send(fd, q, qlen, 0), (ssize_t)qlen);
}

static void tcp_recv_msg(int fd, struct dns_msg *m)
{
	static uint8_t buf[65536];
	uint8_t hdr[2];
	ck_assert(tcp_read(fd, hdr, 2));
	size_t len = (size_t)hdr[0] << 8 | hdr[1];
	ck_assert(tcp_read(fd, buf, len));
	dns_msg_init(m);
	ck_assert_int_eq(dns_msg_parse(m, buf, len), 0);
}

/* The peer closed: recv returns 0 (after pumping). */
static bool closed_by_peer(int fd, unsigned timeout_ms)
{
	uint8_t b;
	if (!pump(fd, timeout_ms))
		return false;
	return recv(fd, &b, 1, 0) == 0;
}

START_TEST(udp_then_tcp)
{
	setup(8, 5000);
	uint8_t q[512];
	size_t qlen;
	struct dns_msg m;
	int u = udp_client();

	/* Chaos over UDP. */
	qlen = w_query(q, sizeof(q), 11, "id.server.", DNS_T_TXT, DNS_C_CH, -1, false, 0);
	udp_ask(u, q, qlen, &m);
	ck_assert_uint_eq(m.id, 11);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 1);
	ck_assert_int_eq(memcmp(m.sec[DNS_S_ANSWER].rr[0].rdata + 1, "net-test", 8), 0);
	dns_msg_clear(&m);

	/* A DHT-backed answer over UDP. */
	qlen = w_query(q, sizeof(q), 12, "www.example.", DNS_T_A, DNS_C_IN, 1232, true, 0);
	udp_ask(u, q, qlen, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
	ck_assert(m.flags & DNS_F_AD);
	dns_msg_clear(&m);

	/* Garbage is dropped: the next query's answer is the next datagram. */
	ck_assert_int_eq(send(u, "\x01\x02\x03", 3, 0), 3);
	qlen = w_query(q, sizeof(q), 13, "big.example.", DNS_T_TXT, DNS_C_IN, 4096, true, 0);
	udp_ask(u, q, qlen, &m);
	ck_assert_uint_eq(m.id, 13);
	ck_assert(m.flags & DNS_F_TC);
	ck_assert_uint_lt(m.sec[DNS_S_ANSWER].n, W_BIG_TXT);
	dns_msg_clear(&m);
	close(u);

	/* The same query over TCP: all of it. Two pipelined queries on one
	 * connection, each answered with its own ID. */
	int t = tcp_client();
	tcp_send(t, q, qlen);
	uint8_t q2[512];
	size_t q2len = w_query(q2, sizeof(q2), 14, "alias.example.", DNS_T_A, DNS_C_IN, -1, false, 0);
	tcp_send(t, q2, q2len);
	bool seen13 = false, seen14 = false;
	for (int i = 0; i < 2; i++) {
		tcp_recv_msg(t, &m);
		if (m.id == 13) {
			seen13 = true;
			ck_assert(!(m.flags & DNS_F_TC));
			ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_TXT), W_BIG_TXT);
		} else {
			ck_assert_uint_eq(m.id, 14);
			seen14 = true;
			ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_CNAME), 1);
			ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
		}
		dns_msg_clear(&m);
	}
	ck_assert(seen13 && seen14);
	/* Half-close: the server finishes and closes. */
	shutdown(t, SHUT_WR);
	ck_assert(closed_by_peer(t, 5000));
	close(t);

	struct gw_stats st;
	gw_get_stats(G, &st);
	ck_assert_uint_eq(st.queries_udp, 3);
	ck_assert_uint_eq(st.queries_tcp, 2);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.tcp_conns, 1);
	teardown();
}
END_TEST

START_TEST(tcp_limits)
{
	setup(2, 300);
	uint8_t q[512];
	size_t qlen = w_query(q, sizeof(q), 21, "version.bind.", DNS_T_TXT, DNS_C_CH, -1, false, 0);
	struct dns_msg m;

	int a = tcp_client(), b = tcp_client();
	/* Both accepted and served. */
	tcp_send(a, q, qlen);
	tcp_recv_msg(a, &m);
	dns_msg_clear(&m);
	tcp_send(b, q, qlen);
	tcp_recv_msg(b, &m);
	dns_msg_clear(&m);
	/* A third is closed at once. */
	int c = tcp_client();
	ck_assert(closed_by_peer(c, 5000));
	close(c);
	struct gw_stats st;
	gw_get_stats(G, &st);
	ck_assert_uint_eq(st.tcp_conns_refused, 1);
	ck_assert_uint_eq(st.tcp_conns_open, 2);

	/* Idle connections are closed after 300 ms. */
	ck_assert(closed_by_peer(a, 5000));
	ck_assert(closed_by_peer(b, 5000));
	close(a);
	close(b);
	gw_get_stats(G, &st);
	ck_assert_uint_eq(st.tcp_conns_open, 0);

	/* A zero-length frame closes the connection. */
	int z = tcp_client();
	ck_assert_int_eq(send(z, "\0\0", 2, 0), 2);
	ck_assert(closed_by_peer(z, 5000));
	close(z);
	teardown();
}
END_TEST

/* The per-source limit: a burst of 200 UDP queries from one source gets
 * about one second's worth answered (the bucket holds rate_limit tokens,
 * refilled at rate_limit per second), the rest is dropped and counted;
 * another source has its own bucket; TCP is not limited. */
START_TEST(udp_rate_limit_per_source)
{
	rate_limit = 20;
	setup(8, 5000);
	uint8_t q[512], buf[4096];
	int u = udp_client(), v = udp_client();
	struct sockaddr_in a = gw_addr();
	/* v sends from another loopback address: a source of its own */
	close(v);
	v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in b = {.sin_family = AF_INET};
	b.sin_addr.s_addr = htonl(0x7f000002);
	ck_assert_int_eq(bind(v, (struct sockaddr *)&b, sizeof(b)), 0);
	ck_assert_int_eq(connect(v, (struct sockaddr *)&a, sizeof(a)), 0);
	uint64_t t0 = wall_ms();
	for (int i = 0; i < 200; i++) {
		size_t qlen = w_query(q, sizeof(q), (uint16_t)i, "id.server.", DNS_T_TXT, DNS_C_CH,
				      -1, false, 0);
		ck_assert_int_eq(send(u, q, qlen, 0), (ssize_t)qlen);
	}
	unsigned answered = 0;
	while (pump(u, 300))
		if (recv(u, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			answered++;
	uint64_t ms = wall_ms() - t0;
	struct gw_stats st;
	gw_get_stats(G, &st);
	ck_assert_uint_ge(answered, 20);
	ck_assert_uint_le(answered, 20 + (unsigned)(ms * 20 / 1000) + 1);
	ck_assert_uint_eq(st.rate_limited, 200 - answered);
	ck_assert_uint_eq(st.rate_limit_sources, 1);
	/* The other source is not held back by the first one's bucket. */
	size_t qlen = w_query(q, sizeof(q), 999, "id.server.", DNS_T_TXT, DNS_C_CH, -1, false, 0);
	ck_assert_int_eq(send(v, q, qlen, 0), (ssize_t)qlen);
	ck_assert(pump(v, 5000));
	ck_assert_int_gt(recv(v, buf, sizeof(buf), 0), 0);
	gw_get_stats(G, &st);
	ck_assert_uint_eq(st.rate_limit_sources, 2);
	/* TCP is answered whatever the UDP bucket holds. */
	int t = tcp_client();
	tcp_send(t, q, qlen);
	struct dns_msg m;
	tcp_recv_msg(t, &m);
	ck_assert_uint_eq(m.id, 999);
	dns_msg_clear(&m);
	close(t);
	close(u);
	close(v);
	teardown();
	rate_limit = 0;
}
END_TEST

/*
 * Many queries from several sources at once: the gateway reads them in
 * batches (recvmmsg) and sends the answers it has at once together
 * (sendmmsg), the others later on their own. Each source must get exactly
 * the answers to its own queries, each once: the Chaos ones (answered
 * inside the batch), the DHT-backed ones (later the first time, from the
 * cache after) and answers too large for a batch slot (sent alone).
 */
START_TEST(udp_batch_answers_go_to_their_senders)
{
	enum { SRC = 3, ROUNDS = 60 };
	udp_max = 16384;
	setup(8, 5000);
	struct sockaddr_in a = gw_addr();
	int fd[SRC];
	for (int s = 0; s < SRC; s++) {
		fd[s] = socket(AF_INET, SOCK_DGRAM, 0);
		ck_assert_int_ge(fd[s], 0);
		int rcv = 1 << 20;
		setsockopt(fd[s], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		struct sockaddr_in b = {.sin_family = AF_INET};
		b.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(s == 0 ? 0 : s + 1));
		ck_assert_int_eq(bind(fd[s], (struct sockaddr *)&b, sizeof(b)), 0);
		ck_assert_int_eq(connect(fd[s], (struct sockaddr *)&a, sizeof(a)), 0);
	}
	static const char *const names[] = {"id.server.", "www.example.", "big.example."};
	static const uint16_t types[] = {DNS_T_TXT, DNS_T_A, DNS_T_TXT};
	static const uint16_t classes[] = {DNS_C_CH, DNS_C_IN, DNS_C_IN};
	for (int i = 0; i < ROUNDS; i++)
		for (int s = 0; s < SRC; s++) {
			uint8_t q[512];
			int k = i % 3;
			size_t qlen = w_query(q, sizeof(q), (uint16_t)(s * 1000 + i), names[k],
					      types[k], classes[k], k == 2 ? 16000 : -1, false, 0);
			ck_assert_int_eq(send(fd[s], q, qlen, 0), (ssize_t)qlen);
		}
	bool seen[SRC][ROUNDS] = {{false}};
	unsigned got = 0, large = 0;
	uint64_t end = wall_ms() + 30000;
	static uint8_t buf[65536];
	while (got < SRC * ROUNDS && wall_ms() < end) {
		pump(fd[0], 5);
		for (int s = 0; s < SRC; s++) {
			ssize_t n;
			while ((n = recv(fd[s], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
				struct dns_msg m;
				dns_msg_init(&m);
				ck_assert_int_eq(dns_msg_parse(&m, buf, (size_t)n), 0);
				ck_assert_uint_eq(m.id / 1000, (unsigned)s); /* to its sender */
				unsigned i = m.id % 1000;
				ck_assert_uint_lt(i, ROUNDS);
				ck_assert_msg(!seen[s][i], "answer %u sent twice", (unsigned)m.id);
				seen[s][i] = true;
				got++;
				ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
				ck_assert_uint_eq(m.qdcount, 1);
				ck_assert_uint_eq(m.qd[0].qtype, types[i % 3]);
				if (i % 3 == 1)
					ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
				if (i % 3 == 2) {
					ck_assert_uint_gt((size_t)n, 4096);
					large++;
				}
				dns_msg_clear(&m);
			}
		}
	}
	ck_assert_uint_eq(got, SRC * ROUNDS);
	ck_assert_uint_eq(large, SRC * ROUNDS / 3);
	struct gw_stats st;
	gw_get_stats(G, &st);
	ck_assert_uint_eq(st.queries_udp, SRC * ROUNDS);
	for (int s = 0; s < SRC; s++)
		close(fd[s]);
	teardown();
	udp_max = 0;
}
END_TEST

static Suite *gateway_net_suite(void)
{
	Suite *s = suite_create("gateway_net");
	TCase *tc = tcase_create("loopback");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, udp_then_tcp);
	tcase_add_test(tc, tcp_limits);
	tcase_add_test(tc, udp_rate_limit_per_source);
	tcase_add_test(tc, udp_batch_answers_go_to_their_senders);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gateway_net_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
