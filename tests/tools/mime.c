/* lh-mime: MIME types for the interop tests, one input per line on stdin.
 *
 *   lh-mime guess       a file name per line -> its guessed type
 *   lh-mime normalize   a MIME type per line -> its normal form
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/repository/mime.h"

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "guess") && strcmp(argv[1], "normalize"))) {
        fprintf(stderr, "usage: lh-mime guess|normalize < lines\n");
        return 2;
    }
    bool guess = strcmp(argv[1], "guess") == 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') line[n - 1] = 0;
        char *out = guess ? lh_mime_guess(line) : lh_mime_normalize(line);
        printf("%s\n", out);
        free(out);
    }
    free(line);
    return 0;
}
