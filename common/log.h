/*
 * log.h - leveled logging to stderr with timestamps.
 *
 * Used by every layer. The level is process-wide (the only writable global the
 * project allows, and it lives here in common/, not in overlay/ or dht/).
 * Timestamps are wall-clock; protocol code that needs virtual time logs it in
 * the message itself.
 */
#ifndef DDNS_COMMON_LOG_H
#define DDNS_COMMON_LOG_H

#include <stdarg.h>

enum ddns_log_level {
	DDNS_LOG_ERR = 0,
	DDNS_LOG_WARN = 1,
	DDNS_LOG_INFO = 2,
	DDNS_LOG_DEBUG = 3
};

/* Set the most verbose level printed (default DDNS_LOG_WARN). */
void ddns_log_set_level(enum ddns_log_level level);
enum ddns_log_level ddns_log_get_level(void);
/* Parse "error|warn|info|debug"; returns 0 or -EINVAL. */
int ddns_log_level_parse(const char *s, enum ddns_log_level *out);
/* Reopen the log destination (SIGHUP). With no file configured, a no-op. */
int ddns_log_reopen(void);
/* Send log lines to PATH (append) instead of stderr; NULL restores stderr. */
int ddns_log_set_file(const char *path);

void ddns_log(enum ddns_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ddns_vlog(enum ddns_log_level level, const char *fmt, va_list ap);

#define log_err(...) ddns_log(DDNS_LOG_ERR, __VA_ARGS__)
#define log_warn(...) ddns_log(DDNS_LOG_WARN, __VA_ARGS__)
#define log_info(...) ddns_log(DDNS_LOG_INFO, __VA_ARGS__)
/* Debug lines cost nothing unless enabled: the arguments are not evaluated. */
#define log_debug(...)                                                        \
	do {                                                                  \
		if (ddns_log_get_level() >= DDNS_LOG_DEBUG)                   \
			ddns_log(DDNS_LOG_DEBUG, __VA_ARGS__);                \
	} while (0)

#endif
