/* Run a command and report its own peak RSS and CPU time.
 * Linux keeps a process's RSS high-water mark across fork and exec, so a
 * command started straight from the (large) Python harness would report the
 * harness's RSS as its own peak; started from this small process it does not.
 * Usage: rusage REPORT_FILE COMMAND [ARGS...]; REPORT_FILE gets
 * "<exit status> <user s> <sys s> <maxrss KiB>"; exit status is passed on.
 * Not part of the product; bench/run compiles it on the fly. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage REPORT_FILE COMMAND [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 127;
    }
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(argv[1], "w");
    if (f) {
        fprintf(f, "%d %ld.%06ld %ld.%06ld %ld\n", rc, (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
                (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
        fclose(f);
    }
    return rc;
}
