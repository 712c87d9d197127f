#include "overlay/transport.h"
#include "common/buf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tr_addr_parse(const char *s, uint16_t default_port, struct tr_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;
	size_t hlen;
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return DDNS_EMALFORMED;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end)
			return DDNS_EMALFORMED;
		hlen = (size_t)(end - s - 1);
		if (hlen >= sizeof(host))
			return DDNS_EMALFORMED;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return DDNS_EMALFORMED;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* bare IPv6 without brackets: no port */
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hlen >= sizeof(host))
			return DDNS_EMALFORMED;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (colon)
			port = colon + 1;
	}
	if (inet_pton(AF_INET, host, out->ip) == 1)
		out->family = TR_AF_INET;
	else if (inet_pton(AF_INET6, host, out->ip) == 1)
		out->family = TR_AF_INET6;
	else
		return DDNS_EMALFORMED;
	if (port) {
		char *end;
		if (!*port)
			return DDNS_EMALFORMED;
		unsigned long v = strtoul(port, &end, 10);
		if (*end || v > 65535)
			return DDNS_EMALFORMED;
		out->port = (uint16_t)v;
	} else {
		if (!default_port)
			return DDNS_EMALFORMED;
		out->port = default_port;
	}
	return 0;
}

char *tr_addr_str(const struct tr_addr *a, char out[TR_ADDRSTRLEN])
{
	char host[INET6_ADDRSTRLEN];
	if (a->family == TR_AF_INET) {
		inet_ntop(AF_INET, a->ip, host, sizeof(host));
		snprintf(out, TR_ADDRSTRLEN, "%s:%u", host, a->port);
	} else if (a->family == TR_AF_INET6) {
		inet_ntop(AF_INET6, a->ip, host, sizeof(host));
		snprintf(out, TR_ADDRSTRLEN, "[%s]:%u", host, a->port);
	} else {
		snprintf(out, TR_ADDRSTRLEN, "(none)");
	}
	return out;
}

bool tr_addr_eq(const struct tr_addr *a, const struct tr_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, a->family == TR_AF_INET ? 4 : 16) == 0;
}

struct tr_addr tr_addr_v4(uint32_t ip, uint16_t port)
{
	struct tr_addr a;
	memset(&a, 0, sizeof(a));
	a.family = TR_AF_INET;
	ddns_put_u32(a.ip, ip);
	a.port = port;
	return a;
}

uint64_t tr_random_below(struct tr *t, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;
	do
		v = tr_random(t);
	while (v >= limit);
	return v % n;
}
