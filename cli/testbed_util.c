/*
 * testbed_util.c - the testbed's small helpers (cli/testbed.h): clock,
 * event loop wait, messages, names, paths and query packets. Every other
 * testbed file may call these; these call none of them, so the testbed's
 * files call one way: ddns_testbed.c (the command) -> zones, nodes, load,
 * conventional, report -> this.
 */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli/testbed.h"
#include "common/buf.h"

volatile sig_atomic_t tb_stop_flag;
uint64_t tb_start_us;

uint64_t tb_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

bool tb_run_until(struct tb *t, bool (*cond)(void *), void *arg, uint64_t deadline_us)
{
	struct event *ev = evtimer_new(t->base, wake, NULL);
	bool ok = false;
	while (ev && !(ok = cond(arg))) {
		uint64_t now = tb_now_us();
		if (now >= deadline_us || *t->stop)
			break;
		/* Wake at least every 100 ms to re-check cond and the signals. */
		uint64_t left = deadline_us - now;
		if (left > 100000)
			left = 100000;
		struct timeval tv = {(time_t)(left / 1000000u), (suseconds_t)(left % 1000000u)};
		evtimer_add(ev, &tv);
		event_base_loop(t->base, EVLOOP_ONCE);
	}
	if (ev)
		event_free(ev);
	return ok;
}

void tb_progress(const struct tb *t, bool final, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (t->tty) {
		fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
		fflush(stderr);
	} else if (final) {
		fprintf(stderr, "testbed: [%5.1f s] %s\n", (tb_now_us() - tb_start_us) / 1e6, line);
	}
}

void tb_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "testbed: [%5.1f s] ", (tb_now_us() - tb_start_us) / 1e6);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

int tb_name_wire(const char *name, uint8_t out[256], size_t *len)
{
	size_t o = 0;
	const char *p = name;
	while (*p && !(p[0] == '.' && p[1] == '\0')) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || o + l + 2 > 255)
			return -EINVAL;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	*len = o;
	return 0;
}

char *tb_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

bool tb_on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	while (path && *path) {
		const char *c = strchr(path, ':');
		size_t l = c ? (size_t)(c - path) : strlen(path);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, path, prog);
		if (access(buf, X_OK) == 0)
			return true;
		path = c ? c + 1 : NULL;
	}
	return false;
}

char *tb_read_first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char buf[PATH_MAX];
	char *r = NULL;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = 0;
		r = strdup(buf);
	}
	fclose(f);
	return r;
}

int tb_dns_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags, const uint8_t *qname,
		 size_t qlen, uint16_t type, uint16_t qclass, uint16_t edns_size, size_t *len)
{
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, out, cap);
	ddns_wbuf_u16(&w, id);
	ddns_wbuf_u16(&w, flags);
	ddns_wbuf_u16(&w, 1);                  /* QDCOUNT */
	ddns_wbuf_u16(&w, 0);
	ddns_wbuf_u16(&w, 0);
	ddns_wbuf_u16(&w, edns_size ? 1 : 0);  /* ARCOUNT: OPT */
	ddns_wbuf_put(&w, qname, qlen);
	ddns_wbuf_u16(&w, type);
	ddns_wbuf_u16(&w, qclass);
	if (edns_size) {
		/* OPT (RFC 6891): root owner, the payload size, DO set. */
		ddns_wbuf_u8(&w, 0);
		ddns_wbuf_u16(&w, 41);
		ddns_wbuf_u16(&w, edns_size);
		ddns_wbuf_u32(&w, 0x8000);
		ddns_wbuf_u16(&w, 0);
	}
	*len = w.len;
	return w.err ? -ENOSPC : 0;
}
