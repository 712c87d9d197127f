/*
 * simchurn.h - membership churn and mass failures on the real protocol
 * code: N simulated nodes, each running an overlay and the DHT (r replicas),
 * holding M DNS records put by their owners (blocks as cli/simdns.h makes
 * them, signature checks off).
 *
 *  - churn: for a given simulated time, nodes leave and fresh nodes join.
 *    Each node's session is drawn from an exponential or a Weibull law with
 *    a given median; a departure is a crash (the node's copies are gone, no
 *    one is told), joins arrive as a Poisson process whose rate keeps the
 *    expected population at N. The DHT repairs on its own timers. Lookups
 *    of random keys (checked against the oracle of the live nodes) and gets
 *    of random records run throughout from random live nodes, and every
 *    owner republishes its record once per republish period (the records'
 *    TTL). Reported over time: lookup success and latency, gets answered,
 *    records with a stored copy on some live node, bytes sent per node.
 *  - crash: a share of the nodes crashes at once with the DHT's own repair
 *    held off; every record is fetched once before any repair, then repair
 *    rounds run until every record that kept a copy has r again and every
 *    record is fetched again; then nodes crash one at a time, with repair
 *    after each, and the records still stored are counted.
 *
 * All randomness comes from the simulator's world PRNG: a seed replays a
 * run. Wall-clock time is never read here.
 */
#ifndef DDNS_CLI_SIMCHURN_H
#define DDNS_CLI_SIMCHURN_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/simnet.h"

struct simchurn_params {
	struct simnet_params net;   /* overlay, seed, latency, DHT (replicas, maintenance) */
	size_t nodes;               /* population (default 1000) */
	size_t records;             /* records put by their owners (default 10,000) */
	size_t parallel;            /* puts and scan gets in flight (default 64) */
	/* churn */
	double session_median_s;    /* median session (default 3600) */
	double weibull_k;           /* 0: exponential sessions; else Weibull with this shape */
	double duration_s;          /* simulated time of churn (default 86400) */
	double lookup_rate;         /* lookups per second, network-wide (default 10) */
	double get_rate;            /* gets per second, network-wide (default 10) */
	double republish_s;         /* each owner republishes this often (default 3600,
				       the records' TTL; 0: never) */
	double check_s;             /* availability check period (default 30 s) */
	double sample_s;            /* reporting period (default 3600 s) */
	/* crash */
	double crash_fraction;      /* share crashing at once (default 0.25) */
	size_t crash_one;           /* then this many crashes one at a time (default 100) */
	FILE *progress;             /* status lines, or NULL */
};

void simchurn_params_default(struct simchurn_params *p);

/* One reporting interval of a churn run. */
struct simchurn_sample {
	double t_s;                 /* end of the interval, since churn started */
	size_t live;                /* nodes up at its end */
	size_t joins, departures;
	size_t lookups, lookups_ok; /* completed in the interval (cancelled ones left out) */
	size_t gets, gets_ok;
	double lookup_ms_median, lookup_ms_p99, get_ms_median;
	size_t available_min;       /* fewest records with a live stored copy at a check */
	size_t full_min;            /* fewest records with >= r live stored copies */
	double bytes_per_node_s;    /* bytes sent / (mean live nodes x interval) */
};

struct simchurn_result {
	size_t nodes, records, puts_ok, puts_failed;
	size_t joins, departures, live_min, live_max;
	/* A lookup succeeds when it ends at the node the oracle names; a get
	 * when it returns the record. Operations whose origin departed while
	 * they ran are counted as cancelled and left out of both. */
	size_t lookups, lookups_ok, lookups_wrong, lookups_failed, lookups_cancelled;
	size_t gets, gets_ok, gets_failed, gets_cancelled;
	size_t republished, republish_failed;
	size_t checks;              /* availability checks made */
	size_t records_lost;        /* records without a live stored copy at some check */
	size_t lost_at_end;         /* ... at the last check */
	size_t available_min, full_min;
	struct ddns_samples lookup_rpcs, lookup_latency_us, get_rpcs, get_latency_us;
	struct simchurn_sample *samples;
	size_t nsamples;
	double bytes_per_node_s;    /* whole churn phase */
	double sim_seconds;         /* whole run, building included */
};

/* Run the churn experiment; progress lines go to p->progress. Returns 0 or
 * an error; *r is filled (free with simchurn_result_free) either way. */
int simchurn_run(const struct simchurn_params *p, struct simchurn_result *r) DDNS_WUR;
void simchurn_result_free(struct simchurn_result *r);

struct simcrash_result {
	size_t nodes, records, puts_ok;
	size_t crashed;             /* at once */
	size_t kept;                /* records with a live stored copy after the crash */
	size_t resolved_before;     /* gets answered before any repair (one per record) */
	size_t full_after;          /* records back on >= r live nodes after repair */
	size_t resolved_after;      /* gets answered after repair */
	double repair_s;            /* simulated time the repair rounds took */
	size_t one_crashes;         /* crashes one at a time, repair after each */
	size_t one_lost;            /* records kept before them, without a copy after */
	size_t one_resolved;        /* gets answered after them */
	double one_repair_s_mean, one_repair_s_max;
	struct ddns_samples rpcs_before, latency_before_us;
	double sim_seconds;
};

/* Run the crash experiment. Returns 0 or an error; free *r with
 * simcrash_result_free either way. */
int simchurn_crash_run(const struct simchurn_params *p, struct simcrash_result *r) DDNS_WUR;
void simcrash_result_free(struct simcrash_result *r);

/* The reports of `ddns sim --churn` and `--crash` (cli/ddns_sim_churn.c):
 * text, or one JSON object per line. They sort the results' samples. */
void simchurn_print(FILE *fp, bool json, const char *overlay, const struct simchurn_params *p,
		    struct simchurn_result *r);
void simcrash_print(FILE *fp, bool json, const char *overlay, const struct simchurn_params *p,
		    struct simcrash_result *r);

#endif
