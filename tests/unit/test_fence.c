/* Write fence: exclusive locks, append markers vs maintenance, stale
 * markers, bounded retries with a clear error, unlock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/storage/fence.h"
#include "test.h"

/* NFS (without local_lock=flock) emulates flock(2) with fcntl(2) locks,
 * so LOCK_EX needs the file open for writing (flock(2), NOTES): with
 * nfs_flock set, this binary's flock (which the library's calls resolve
 * to) refuses it on a read-only descriptor with EBADF, as there. */
static int nfs_flock;

int flock(int fd, int op)
{
    int fl = fcntl(fd, F_GETFL);
    if (nfs_flock && (op & LOCK_EX) && fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) {
        errno = EBADF;
        return -1;
    }
    return (int)syscall(SYS_flock, fd, op);
}

static lh_storage *open_tmp(char **dir)
{
    lh_storage *st = NULL;
    lh_error err;
    *dir = lh_test_tmpdir();
    if (lh_storage_open(*dir, &st, &err) != LH_OK) abort();
    return st;
}

static void test_lock_exclusive(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    lh_fence *a = NULL, *b = NULL;
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &a, &err), &err);
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 1, &b, &err), LH_ERR_BUSY);
    CHECK(strstr(err.msg, "ds/.LOCK") != NULL);
    /* leased and held: its holder runs, `unlock` is not the remedy */
    CHECK(strstr(err.msg, "still running") != NULL);
    CHECK(strstr(err.msg, "maintenance unlock") == NULL);
    CHECK(strstr(err.msg, "pid") != NULL);
    /* .LOCK-MERGE is independent of .LOCK */
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_MERGE, 0, &b, &err), &err);
    CHECK_OK(lh_fence_release(b, &err), &err);
    CHECK_OK(lh_fence_release(a, &err), &err);
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &a, &err), &err);
    CHECK_OK(lh_fence_release(a, &err), &err);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

static void test_append_vs_maintenance(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    lh_fence *app1 = NULL, *app2 = NULL, *maint = NULL;
    /* appends share */
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_APPEND, 0, &app1, &err), &err);
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_APPEND, 0, &app2, &err), &err);
    /* maintenance waits for in-flight appends, gives up with a clear error */
    CHECK_RC(lh_fence_acquire_exclusive(st, "ds", LH_FENCE_LEASED, 1, &maint, &err), LH_ERR_BUSY);
    CHECK(strstr(err.msg, "2 append(s) still in flight") != NULL);
    /* and left no .LOCK behind */
    bool held = true;
    CHECK_OK(lh_storage_exists(st, "ds/.LOCK", &held, &err), &err);
    CHECK(!held);
    CHECK_OK(lh_fence_release(app1, &err), &err);
    CHECK_OK(lh_fence_release(app2, &err), &err);
    CHECK_OK(lh_fence_acquire_exclusive(st, "ds", LH_FENCE_LEASED, 0, &maint, &err), &err);
    /* an append backs off while maintenance runs */
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_APPEND, 1, &app1, &err), LH_ERR_BUSY);
    lh_strlist keys;
    lh_strlist_init(&keys);
    CHECK_OK(lh_storage_list(st, "ds/.LOCK-APPENDS", 0, &keys, &err), &err);
    CHECK_INT(keys.len, 0); /* the failed append removed its marker */
    lh_strlist_free(&keys);
    CHECK_OK(lh_fence_release(maint, &err), &err);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* A child that takes fences with take, then is killed holding them; its
 * pid. take returns false when one was refused (the child exits 2). */
static pid_t killed_holder(lh_storage *st, bool (*take)(lh_storage *st))
{
    pid_t pid = fork();
    if (pid == 0) {
        if (!take(st)) _exit(2);
        raise(SIGKILL);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    return pid;
}

static bool take_marker_and_sticky_lock(lh_storage *st)
{
    lh_fence *f = NULL;
    lh_error e;
    /* sticky: a leased one would be taken over (test_leased_lock_taken_over) */
    return lh_fence_acquire(st, "ds", LH_FENCE_APPEND, 0, &f, &e) == LH_OK &&
           lh_fence_acquire_life(st, "ds", LH_FENCE_LOCK, LH_FENCE_STICKY, 0, &f, &e) == LH_OK;
}

static bool take_maintenance(lh_storage *st)
{
    lh_fence *f = NULL, *m = NULL;
    lh_error e;
    return lh_fence_acquire_exclusive(st, "ds", LH_FENCE_LEASED, 0, &f, &e) == LH_OK &&
           lh_fence_acquire(st, "ds", LH_FENCE_MERGE, 0, &m, &e) == LH_OK;
}

static bool take_lock(lh_storage *st)
{
    lh_fence *f = NULL;
    lh_error e;
    return lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &e) == LH_OK;
}

/* In a child: take ds/.LOCK, write '1' (taken) or '0' to report, then
 * hold it until go reads end of file (the parent closed it), and exit
 * without releasing. */
_Noreturn static void child_holds_lock(lh_storage *st, int report, int go)
{
    char c = take_lock(st) ? '1' : '0';
    if (write(report, &c, 1) != 1) _exit(2);
    if (read(go, &c, 1) < 0) _exit(2);
    _exit(0);
}

static void test_dead_marker_reaped_and_unlock(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    /* a child takes an append marker and is killed without releasing it */
    pid_t pid = killed_holder(st, take_marker_and_sticky_lock);
    /* the stale .LOCK is reported, the dead marker would be reaped */
    lh_fence *maint = NULL;
    CHECK_RC(lh_fence_acquire_exclusive(st, "ds", LH_FENCE_LEASED, 0, &maint, &err), LH_ERR_BUSY);
    char pidstr[32];
    snprintf(pidstr, sizeof pidstr, "pid %d", (int)pid);
    CHECK(strstr(err.msg, pidstr) != NULL);
    bool released = false;
    CHECK_OK(lh_fence_unlock(st, "ds", &released, &err), &err);
    CHECK(released);
    CHECK_OK(lh_fence_unlock(st, "ds", &released, &err), &err);
    CHECK(!released);
    CHECK_OK(lh_fence_acquire_exclusive(st, "ds", LH_FENCE_LEASED, 0, &maint, &err), &err);
    CHECK_OK(lh_fence_release(maint, &err), &err);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* n processes race for ds/.LOCK without retries; the winners hold it until
 * all have tried (a winner gone would leave it to be taken over). */
static int race_for_lock(lh_storage *st, int n)
{
    int results[2], go[2];
    if (pipe(results) != 0 || pipe(go) != 0) abort();
    pid_t pids[16];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(results[0]);
            close(go[1]);
            child_holds_lock(st, results[1], go[0]);
        }
    }
    close(results[1]);
    close(go[0]);
    int winners = 0;
    for (int i = 0; i < n; i++) {
        char c = 0;
        if (read(results[0], &c, 1) != 1) abort();
        winners += c == '1';
    }
    close(go[1]);
    close(results[0]);
    for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
    return winners;
}

static void test_lock_race_processes(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    CHECK_INT(race_for_lock(st, 4), 1);
    bool released = false;
    CHECK_OK(lh_fence_unlock(st, "ds", &released, &err), &err);
    CHECK(released);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* The storage's leases by themselves: held, dropped, other bytes. */
static void test_storage_lease(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    CHECK(lh_storage_can_lease(st, "ds/.LOCK"));
    lh_storage_lease *lease = NULL, *other = NULL;
    CHECK_OK(lh_storage_put_if_absent_leased(st, "ds/L", "a", 1, &lease, &err), &err);
    CHECK(lease != NULL);
    CHECK_RC(lh_storage_put_if_absent_leased(st, "ds/L", "b", 1, &other, &err), LH_ERR_EXISTS);
    CHECK(other == NULL);
    bool gone = true;
    CHECK_OK(lh_storage_lease_abandoned(st, "ds/L", "a", 1, true, &gone, &err), &err);
    CHECK(!gone); /* held, even by this process through another descriptor */
    lh_storage_lease_free(lease);
    CHECK_OK(lh_storage_lease_abandoned(st, "ds/L", "b", 1, true, &gone, &err), &err);
    CHECK(!gone); /* other bytes: somebody else's lock */
    CHECK_OK(lh_storage_lease_abandoned(st, "ds/L", "a", 1, false, &gone, &err), &err);
    CHECK(gone);
    bool exists = false;
    CHECK_OK(lh_storage_exists(st, "ds/L", &exists, &err), &err);
    CHECK(exists); /* asked, not removed */
    CHECK_OK(lh_storage_lease_abandoned(st, "ds/L", "a", 1, true, &gone, &err), &err);
    CHECK(gone);
    CHECK_OK(lh_storage_exists(st, "ds/L", &exists, &err), &err);
    CHECK(!exists);
    CHECK_OK(lh_storage_lease_abandoned(st, "ds/L", "a", 1, true, &gone, &err), &err);
    CHECK(!gone); /* absent */
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* A holder killed with its locks held: the next writer takes them over at
 * once, no `unlock` needed. */
static void test_leased_lock_taken_over(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    killed_holder(st, take_maintenance);
    lh_fence *lock = NULL, *merge = NULL, *append = NULL;
    /* an append, which only looks at .LOCK, takes it over too */
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_APPEND, 0, &append, &err), &err);
    bool exists = true;
    CHECK_OK(lh_storage_exists(st, "ds/.LOCK", &exists, &err), &err);
    CHECK(!exists);
    CHECK_OK(lh_fence_release(append, &err), &err);
    CHECK_OK(lh_fence_acquire_exclusive(st, "ds", LH_FENCE_LEASED, 0, &lock, &err), &err);
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_MERGE, 0, &merge, &err), &err);
    char who[512], mine[64];
    lh_fence_describe(st, "ds/.LOCK", who, sizeof who);
    snprintf(mine, sizeof mine, "pid %d ", (int)getpid());
    CHECK(strstr(who, mine) == who);
    CHECK_OK(lh_fence_release(merge, &err), &err);
    CHECK_OK(lh_fence_release(lock, &err), &err);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* A live holder keeps its lock, also once it stops without releasing; the
 * reference's lock files (no lease) are never taken over. */
static void test_live_and_foreign_locks_kept(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    int ready[2], go[2];
    CHECK(pipe(ready) == 0 && pipe(go) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        child_holds_lock(st, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == '1');
    lh_fence *f = NULL;
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 1, &f, &err), LH_ERR_BUSY);
    close(go[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &err), &err);
    CHECK_OK(lh_fence_release(f, &err), &err);
    /* as the Python reference leaves one: a timestamp, or nothing */
    CHECK_OK(lh_storage_write(st, "ds/.LOCK-MERGE", "2026-12-03T10:00:00", 19, &err), &err);
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_MERGE, 0, &f, &err), LH_ERR_BUSY);
    /* nor one leased on another machine, though of the same host name: a
     * file system shared between machines may keep flock(2) locks per
     * machine, so its lease may only look gone */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char *remote = lh_asprintf("{\"pid\": 1, \"host\": \"%s\", \"created_at\": "
                               "\"2026-12-03T10:00:00\", \"tool\": \"ftm-lakehouse-c\", "
                               "\"lease\": true, \"boot_id\": \"00000000-0000-0000-0000-000000000000\"}\n",
                               host);
    CHECK_OK(lh_storage_write(st, "ds/.LOCK-MERGE", remote, strlen(remote), &err), &err);
    free(remote);
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_MERGE, 0, &f, &err), LH_ERR_BUSY);
    /* nor a sticky one of ours */
    CHECK_OK(lh_fence_acquire_life(st, "ds", LH_FENCE_LOCK, LH_FENCE_STICKY, 0, &f, &err), &err);
    lh_fence_keep(f);
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &err), LH_ERR_BUSY);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* Processes racing to take over one abandoned lock: exactly one gets it,
 * and none removes the winner's. */
static void test_takeover_race(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    killed_holder(st, take_lock);
    CHECK_INT(race_for_lock(st, 6), 1);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* A leased put that fails after its link made the lock visible (the
 * directory's fsync) leaves no lock behind: its lease is gone, so a waiter
 * may take the key over at once, and the failed holder's cleanup ("delete
 * it if it still reads as ours", read then delete) could then remove the
 * waiter's live lock, letting a third writer in beside it. */
static void test_failed_leased_put_leaves_nothing(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    /* the directory exists: the put's first fsync is its temp file's, the
     * second the directory's after link */
    CHECK_OK(lh_storage_write(st, "ds/x", "x", 1, &err), &err);
    lh_storage_lease *lease = NULL;
    lh_storage_fault_fsync(2, EIO);
    CHECK_RC(lh_storage_put_if_absent_leased(st, "ds/L", "a", 1, &lease, &err), LH_ERR_IO);
    lh_storage_fault_fsync(0, 0);
    CHECK(lease == NULL);
    bool exists = true;
    CHECK_OK(lh_storage_exists(st, "ds/L", &exists, &err), &err);
    CHECK(!exists);
    /* so the fence's own cleanup finds nothing to delete */
    lh_fence *f = NULL;
    lh_storage_fault_fsync(2, EIO);
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &err), LH_ERR_IO);
    lh_storage_fault_fsync(0, 0);
    CHECK_OK(lh_storage_exists(st, "ds/.LOCK", &exists, &err), &err);
    CHECK(!exists);
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &err), &err);
    CHECK_OK(lh_fence_release(f, &err), &err);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* On NFS a killed holder's leased lock is taken over too: the lease is
 * asked with an exclusive flock, which there needs a descriptor open for
 * writing; asked on a read-only one it failed (EBADF) and the lock stayed
 * for good, `check` calling it held by its dead holder. */
static void test_nfs_lease_taken_over(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    nfs_flock = 1;
    pid_t pid = fork();
    if (pid == 0) {
        lh_fence *f = NULL;
        lh_error e;
        if (lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &e) != LH_OK) _exit(2);
        raise(SIGKILL);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    lh_buf data = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(st, "ds/.LOCK", &data, &err), &err);
    bool gone = false;
    CHECK_OK(lh_storage_lease_abandoned(st, "ds/.LOCK", data.data, data.len, false, &gone, &err),
             &err);
    CHECK(gone);
    lh_buf_free(&data);
    lh_fence *f = NULL;
    CHECK_OK(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &err), &err);
    /* and a live lease still holds */
    lh_fence *g = NULL;
    CHECK_RC(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &g, &err), LH_ERR_BUSY);
    CHECK_OK(lh_fence_release(f, &err), &err);
    nfs_flock = 0;
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    setenv("LAKEHOUSE_LOCK_BACKOFF_MS", "1", 1);
    RUN(test_lock_exclusive);
    RUN(test_append_vs_maintenance);
    RUN(test_dead_marker_reaped_and_unlock);
    RUN(test_lock_race_processes);
    RUN(test_storage_lease);
    RUN(test_leased_lock_taken_over);
    RUN(test_live_and_foreign_locks_kept);
    RUN(test_takeover_race);
    RUN(test_failed_leased_put_leaves_nothing);
    RUN(test_nfs_lease_taken_over);
    return lh_test_report();
}
