/*
 * keyfile.h - DNSSEC key pairs in BIND's file format, so keys made by
 * dnssec-keygen work here and keys made here work in BIND's tools.
 *
 * A key pair is two files named K<name>+<alg>+<tag> (name absolute and
 * lowercased, with its final dot: "Kexample.com.+013+01234", "K.+008+20326"):
 *  .key      one DNSKEY record in master-file syntax, after ';' comments;
 *  .private  "Private-key-format: v1.3" then "Field: value" lines; algorithm
 *            13 keeps "PrivateKey: <base64 scalar>", RSA algorithms keep
 *            Modulus, PublicExponent, PrivateExponent, Prime1, Prime2,
 *            Exponent1, Exponent2, Coefficient (base64 big-endian).
 * Reading accepts v1.2 and v1.3 and ignores the timing metadata fields.
 * This module does file I/O only; keys themselves are dns/dnssec.h.
 */
#ifndef DDNS_DNS_KEYFILE_H
#define DDNS_DNS_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "dns/dnssec.h"

/* Room for "<dir>/K<name>+ddd+ddddd" plus a suffix. */
#define DNSSEC_KEYFILE_PATH_MAX 4096

/*
 * Read a key. path names either file of the pair or their common base
 * ("K...+013+01234", with or without ".key"/".private"). The .key file gives
 * owner, flags and public key; with want_private, the .private file must
 * exist, name the same algorithm and hold the matching private key.
 * ttl (may be NULL) receives the DNSKEY TTL written in the .key file, or 0.
 * err (may be NULL) receives a one-line message naming the file and problem.
 * Returns 0 with *out set (free with dnssec_key_free); -ENOENT and other
 * -errno (file unreadable); DDNS_EMALFORMED (syntax, or the private key does
 * not match the public one); DDNS_EUNSUPPORTED (algorithm); -ENOMEM.
 */
int dnssec_keyfile_read(const char *path, bool want_private,
			struct dnssec_key **out, uint32_t *ttl, char *err,
			size_t errlen) DDNS_WUR;

/*
 * Write the .key and (when the key has its private half) .private files of k
 * into dir (NULL: current directory). .private is created with mode 0600;
 * existing files are never overwritten. created is the "Created"/"Publish"/
 * "Activate" time (seconds since the epoch). base (baselen bytes, may be
 * NULL) receives the path without suffix ("dir/Kexample.+013+01234").
 * Returns 0; -EEXIST (a file of that name exists); other -errno; -ENOMEM;
 * DDNS_ETOOBIG (path too long).
 */
int dnssec_keyfile_write(const struct dnssec_key *k, const char *dir,
			 uint32_t created, char *base, size_t baselen) DDNS_WUR;

/*
 * The base file name "K<name>+<alg>+<tag>" of a key into buf (size bytes).
 * Returns the length or DDNS_ETOOBIG.
 */
int dnssec_keyfile_basename(const struct dnssec_key *k, char *buf,
			    size_t size) DDNS_WUR;

#endif
