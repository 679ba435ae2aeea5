/* The ftm-lakehouse command line: shared context and helpers. */
#ifndef LH_CLI_H
#define LH_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lh/core/error.h"
#include "lh/core/settings.h"
#include "lh/core/storage.h"
#include "lh/core/stream_codec.h"

/* Exit codes (documented in `ftm-lakehouse --help` and the README). */
enum {
    LH_EXIT_OK = 0,
    LH_EXIT_ERROR = 1,   /* I/O or internal failure */
    LH_EXIT_USAGE = 2,   /* bad command line */
    LH_EXIT_INPUT = 3,   /* malformed input data or bad names */
    LH_EXIT_BUSY = 4,    /* the write fence is held */
    LH_EXIT_CORRUPT = 5, /* stored data does not parse */
};

typedef struct lh_cli {
    lh_settings settings;
    const char *uri;     /* --uri or LAKEHOUSE_URI */
    const char *dataset; /* -d */
    const char *dataset_uri; /* --dataset-uri: the dataset's own location */
    bool dataset_checked; /* -d is a dataset's or a name FtM takes */
    /* a command needed -d and had none: a usage error (exit 2), as
     * `maintenance migrate` without -d or --all is, not bad input (3) */
    bool dataset_missing;
    lh_storage *st;      /* opened on first use */
    const char *prog;    /* "ftm-lakehouse entities import" */
    /* the dataset's export codec (config.yml's `compression`), once read */
    bool codec_known;
    lh_stream_codec codec;
} lh_cli;

typedef int (*lh_cmd_fn)(lh_cli *cli, int argc, char **argv);

typedef struct lh_cmd {
    const char *name;
    lh_cmd_fn fn;
    /* printed for -h/--help; NULL: the group's help */
    const char *help;
    /* the command answers -h/--help itself; otherwise help (or the group's)
     * is printed for it, and the command never sees the flag */
    bool own_help;
} lh_cmd;

/* Report err on stderr ("ftm-lakehouse: error: ...") and map it to an exit code. */
int lh_cli_fail(lh_cli *cli, const lh_error *err);
/* Usage error with a message. */
int lh_cli_usage_error(lh_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Open the lake storage (once). */
lh_status lh_cli_storage(lh_cli *cli, lh_storage **st, lh_error *err);
/* The dataset (-d) validated, or an error. */
lh_status lh_cli_dataset(lh_cli *cli, const char **name, lh_error *err);
/* Open an output ("-" = stdout) / input ("-" = stdin): a path, a file://
 * or an s3:// URI (an s3:// output is stored whole when closed); a gzip,
 * bzip2, xz, zstd or LZ4 input is read decompressed (cli_io.c). */
FILE *lh_cli_open_out(const char *path, lh_error *err);
FILE *lh_cli_open_in(const char *path, lh_error *err);
void lh_cli_close(FILE *f);
/* Why the last input or output stream failed (its reads and writes can
 * only say EIO), or NULL. */
const char *lh_cli_io_cause(void);
/* Close (flush, for stdout) an output of lh_cli_open_out: rc, or when rc
 * is LH_OK and the output could not be written, LH_ERR_IO naming path. */
lh_status lh_cli_close_out(FILE *f, const char *path, lh_status rc, lh_error *err);

/* Dispatch argv[0] among cmds; prints group help on -h/--help or no command. */
int lh_cli_dispatch(lh_cli *cli, const char *group, const char *help, const lh_cmd *cmds,
                    int argc, char **argv);
/* True when argv has -h/--help; prints help first. */
bool lh_cli_want_help(int argc, char **argv, const char *help);
/* The arguments of a command that takes only [-o|--output FILE]: *out is
 * FILE, else dflt. Returns an exit code (0 after help, 2 for anything
 * else), or -1 to go on. */
int lh_cli_parse_output(lh_cli *cli, int argc, char **argv, const char *help, const char *dflt,
                        const char **out);

/* Progress on stderr when it is a terminal: label, count, rate, elapsed. */
typedef struct lh_progress {
    const char *label;
    uint64_t count;
    int64_t start_us, last_us;
    bool tty;
} lh_progress;
void lh_progress_start(lh_progress *p, const char *label);
void lh_progress_add(lh_progress *p, uint64_t n);
void lh_progress_done(lh_progress *p);
/* lh_progress_add as an lh_progress_fn callback (ctx is the lh_progress). */
void lh_progress_cb(void *ctx, uint64_t n);

/* Command groups. */
int lh_cmd_entities(lh_cli *cli, int argc, char **argv);
int lh_cmd_statements(lh_cli *cli, int argc, char **argv);
int lh_cmd_maintenance(lh_cli *cli, int argc, char **argv);
int lh_cmd_tags(lh_cli *cli, int argc, char **argv);
int lh_cmd_queue(lh_cli *cli, int argc, char **argv);
int lh_cmd_ls(lh_cli *cli, int argc, char **argv);
int lh_cmd_datasets(lh_cli *cli, int argc, char **argv);
int lh_cmd_configure(lh_cli *cli, int argc, char **argv);
int lh_cmd_make(lh_cli *cli, int argc, char **argv);
int lh_cmd_export(lh_cli *cli, int argc, char **argv);

#endif
