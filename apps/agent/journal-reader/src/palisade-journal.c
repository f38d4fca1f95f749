// palisade-journal: follows the systemd journal through libsystemd's sd-journal API and prints
// each entry as one JSON object per line, with the fields the agent's auth sensor reads. It
// takes the subset of journalctl's arguments the sensor uses and prints the same JSON shape
// (`journalctl --output=json`), at a fraction of journalctl's memory (see README.md).
//
//   palisade-journal [--directory=DIR] [--after-cursor=CURSOR | --since=@SECONDS | --lines=0|all]
//                    [--output-fields=FIELD,FIELD...] [FIELD=VALUE ...]
//
// --output-fields names the fields printed besides __CURSOR and __REALTIME_TIMESTAMP, as with
// journalctl (which also always prints __MONOTONIC_TIMESTAMP and _BOOT_ID); without it, the
// default list below. Fields whose names start with '_' are journald's own (the sender's
// kernel credentials and /proc facts): the agent trusts those, never SYSLOG_IDENTIFIER.
//
// journalctl's --output=json, --all, --follow, --no-pager and --quiet are accepted and change
// nothing: this is what it always does. Entries are followed until the process is killed or
// its parent dies. Errors go to stderr as
// one line; the exit code is 1 for bad arguments or a refused cursor, 2 for journal errors.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <systemd/sd-journal.h>

// The fields printed by default, besides __CURSOR and __REALTIME_TIMESTAMP.
static const char *const DEFAULT_FIELDS[] = {
    "_SOURCE_REALTIME_TIMESTAMP", "SYSLOG_IDENTIFIER", "SYSLOG_PID", "_PID", "_UID", "_COMM", "_EXE",
    "_CAP_EFFECTIVE", "_HOSTNAME", "MESSAGE",
};
#define MAX_FIELDS 32
static const char *fields[MAX_FIELDS];
static size_t nfields;
// Longer field values are cut by sd-journal (the agent cuts its lines at 64 KiB anyway).
#define DATA_THRESHOLD (48 * 1024)

static void usage(void) {
	fprintf(stderr, "usage: palisade-journal [--directory=DIR] [--after-cursor=CURSOR | --since=@SECONDS | "
	                "--lines=0|all] [--output-fields=FIELD,...] [FIELD=VALUE ...]\n");
	exit(1);
}

// put_value prints a field value as a JSON string when it is ASCII, else as an array of byte
// values (as journalctl does for values that are not printable UTF-8); the reader decodes both.
static void put_value(const unsigned char *v, size_t n) {
	size_t i;
	for (i = 0; i < n; i++)
		if (v[i] >= 0x80) break;
	if (i < n) {
		putchar('[');
		for (i = 0; i < n; i++) printf(i ? ",%u" : "%u", v[i]);
		putchar(']');
		return;
	}
	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = v[i];
		if (c == '"' || c == '\\') {
			putchar('\\');
			putchar(c);
		} else if (c < 0x20 || c == 0x7f) {
			printf("\\u%04x", c);
		} else {
			putchar(c);
		}
	}
	putchar('"');
}

// field_name tells whether s[0, n) is a journal field name: A-Z, 0-9 and _, not starting with a
// digit, at most 64 bytes (journald's own rule).
static int field_name(const char *s, size_t n) {
	if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9')) return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) return 0;
	return 1;
}

// set_fields takes --output-fields' comma-separated list (it points into argv, which it cuts).
static void set_fields(char *list) {
	nfields = 0;
	for (char *f = list;;) {
		char *comma = strchr(f, ',');
		size_t n = comma ? (size_t)(comma - f) : strlen(f);
		if (nfields == MAX_FIELDS || !field_name(f, n)) usage();
		fields[nfields++] = f;
		if (!comma) break;
		*comma = '\0';
		f = comma + 1;
	}
}

static int put_entry(sd_journal *j) {
	char *cursor = NULL;
	uint64_t usec;
	int r = sd_journal_get_cursor(j, &cursor);
	if (r < 0) return r;
	r = sd_journal_get_realtime_usec(j, &usec);
	if (r < 0) {
		free(cursor);
		return r;
	}
	printf("{\"__CURSOR\":");
	put_value((const unsigned char *)cursor, strlen(cursor));
	printf(",\"__REALTIME_TIMESTAMP\":\"%llu\"", (unsigned long long)usec);
	free(cursor);
	for (size_t f = 0; f < nfields; f++) {
		const void *data;
		size_t len, name = strlen(fields[f]);
		if (sd_journal_get_data(j, fields[f], &data, &len) < 0 || len <= name) continue;
		printf(",\"%s\":", fields[f]);
		put_value((const unsigned char *)data + name + 1, len - name - 1);
	}
	fputs("}\n", stdout);
	return 0;
}

int main(int argc, char **argv) {
	const char *dir = NULL, *cursor = NULL;
	long long since = -1;
	int tail = 0;
	sd_journal *j;
	int r;

	// The agent owns this process: it goes when the agent goes.
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	for (nfields = 0; nfields < sizeof(DEFAULT_FIELDS) / sizeof(DEFAULT_FIELDS[0]); nfields++)
		fields[nfields] = DEFAULT_FIELDS[nfields];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--directory=", 12) == 0) dir = a + 12;
		else if (strncmp(a, "--after-cursor=", 15) == 0) cursor = a + 15;
		else if (strncmp(a, "--since=@", 9) == 0) {
			char *end;
			errno = 0;
			since = strtoll(a + 9, &end, 10);
			if (errno || *end || since < 0) usage();
		} else if (strncmp(a, "--output-fields=", 16) == 0) set_fields(argv[i] + 16);
		else if (strcmp(a, "--lines=0") == 0) tail = 1;
		else if (strcmp(a, "--lines=all") == 0) tail = 0;
		else if (strcmp(a, "--output=json") == 0 || strcmp(a, "--all") == 0 || strcmp(a, "--follow") == 0 ||
		         strcmp(a, "--no-pager") == 0 || strcmp(a, "--quiet") == 0)
			continue;
		else if (a[0] == '-' || !strchr(a, '=')) usage();
	}
	r = dir ? sd_journal_open_directory(&j, dir, 0) : sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		fprintf(stderr, "Failed to open the journal%s%s: %s\n", dir ? " in " : "", dir ? dir : "", strerror(-r));
		return 2;
	}
	sd_journal_set_data_threshold(j, DATA_THRESHOLD);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-') continue;
		r = sd_journal_add_match(j, argv[i], 0);
		if (r < 0) {
			fprintf(stderr, "Failed to add match %s: %s\n", argv[i], strerror(-r));
			return 1;
		}
	}
	if (cursor) {
		r = sd_journal_seek_cursor(j, cursor);
		if (r < 0) {
			fprintf(stderr, "Failed to seek to cursor: %s\n", strerror(-r));
			return 1;
		}
		// After the cursor: skip the entry it names when it is still there.
		r = sd_journal_next(j);
		if (r > 0 && sd_journal_test_cursor(j, cursor) <= 0) sd_journal_previous(j);
	} else if (since >= 0) {
		sd_journal_seek_realtime_usec(j, (uint64_t)since * 1000000ULL);
	} else if (tail) {
		sd_journal_seek_tail(j);
		sd_journal_previous(j);
	} else {
		sd_journal_seek_head(j);
	}
	for (;;) {
		r = sd_journal_next(j);
		if (r < 0) {
			fprintf(stderr, "Failed to read the journal: %s\n", strerror(-r));
			return 2;
		}
		if (r == 0) {
			if (fflush(stdout) != 0) return 0; // the reader is gone
			r = sd_journal_wait(j, (uint64_t)-1);
			if (r < 0) {
				fprintf(stderr, "Failed to wait for the journal: %s\n", strerror(-r));
				return 2;
			}
			continue;
		}
		if (put_entry(j) < 0) continue;
		if (ferror(stdout)) return 0;
	}
}
