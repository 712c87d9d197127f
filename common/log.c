#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum ddns_log_level log_level = DDNS_LOG_WARN;
static FILE *log_fp;       /* NULL: stderr */
static char log_path[4096];

void ddns_log_set_level(enum ddns_log_level level) { log_level = level; }
enum ddns_log_level ddns_log_get_level(void) { return log_level; }

int ddns_log_level_parse(const char *s, enum ddns_log_level *out)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum ddns_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int ddns_log_set_file(const char *path)
{
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
	log_path[0] = '\0';
	if (!path)
		return 0;
	if (strlen(path) >= sizeof(log_path))
		return -ENAMETOOLONG;
	strcpy(log_path, path);
	return ddns_log_reopen();
}

int ddns_log_reopen(void)
{
	if (!log_path[0])
		return 0;
	if (log_fp)
		fclose(log_fp);
	log_fp = fopen(log_path, "a");
	if (!log_fp)
		return -errno;
	setvbuf(log_fp, NULL, _IOLBF, 0);
	return 0;
}

void ddns_vlog(enum ddns_log_level level, const char *fmt, va_list ap)
{
	static const char *tags[] = {"error", "warn", "info", "debug"};
	if (level > log_level)
		return;
	FILE *fp = log_fp ? log_fp : stderr;
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(fp, "%s.%03ldZ %s: ", when, ts.tv_nsec / 1000000L, tags[level]);
	vfprintf(fp, fmt, ap);
	fputc('\n', fp);
}

void ddns_log(enum ddns_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ddns_vlog(level, fmt, ap);
	va_end(ap);
}
