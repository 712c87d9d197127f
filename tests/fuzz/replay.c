/*
 * replay.c - runs a libFuzzer target over its corpus without libFuzzer, so
 * every `make check` (with ASan/UBSan when configured) replays the corpora.
 *
 * Usage: replay [FILE|DIR]...; with no argument, the directory
 * $top_srcdir/tests/fuzz/corpus/FUZZ_CORPUS. Exit 77 (skip) when that is
 * missing, 1 if a file cannot be read; a target failure aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t nrun;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
			}
			b = nb;
		}
	}
	fclose(f);
	if (!b)
		return 1;
	/* Exact-size copy so ASan catches any read past the input. */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(b);
		return 1;
	}
	memcpy(exact, b, n);
	free(b);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	nrun++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	DIR *d = opendir(path);
	if (!d)
		return 1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rc |= run_path(sub);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			rc |= run_path(argv[i]);
	} else {
		const char *top = getenv("top_srcdir");
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".",
			 FUZZ_CORPUS);
		struct stat st;
		if (stat(dir, &st) != 0) {
			printf("SKIP: corpus %s not found\n", dir);
			return 77;
		}
		rc = run_path(dir);
	}
	printf("replayed %zu inputs\n", nrun);
	return rc;
}
