/* Write fence: exclusive locks, append markers vs maintenance, stale
 * markers, bounded retries with a clear error, unlock. */
#include <signal.h>
#include <sys/wait.h>

#include "lh/core/storage.h"
#include "lh/storage/fence.h"
#include "test.h"

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
    CHECK(strstr(err.msg, "maintenance unlock") != NULL);
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
    CHECK_RC(lh_fence_acquire_exclusive(st, "ds", 1, &maint, &err), LH_ERR_BUSY);
    CHECK(strstr(err.msg, "2 append(s) still in flight") != NULL);
    /* and left no .LOCK behind */
    bool held = true;
    CHECK_OK(lh_storage_exists(st, "ds/.LOCK", &held, &err), &err);
    CHECK(!held);
    CHECK_OK(lh_fence_release(app1, &err), &err);
    CHECK_OK(lh_fence_release(app2, &err), &err);
    CHECK_OK(lh_fence_acquire_exclusive(st, "ds", 0, &maint, &err), &err);
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

static void test_dead_marker_reaped_and_unlock(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    /* a child takes an append marker and is killed without releasing it */
    pid_t pid = fork();
    if (pid == 0) {
        lh_fence *f = NULL;
        lh_error e;
        if (lh_fence_acquire(st, "ds", LH_FENCE_APPEND, 0, &f, &e) != LH_OK) _exit(2);
        if (lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &e) != LH_OK) _exit(2);
        raise(SIGKILL);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    /* the stale .LOCK is reported, the dead marker would be reaped */
    lh_fence *maint = NULL;
    CHECK_RC(lh_fence_acquire_exclusive(st, "ds", 0, &maint, &err), LH_ERR_BUSY);
    char pidstr[32];
    snprintf(pidstr, sizeof pidstr, "pid %d", (int)pid);
    CHECK(strstr(err.msg, pidstr) != NULL);
    bool released = false;
    CHECK_OK(lh_fence_unlock(st, "ds", &released, &err), &err);
    CHECK(released);
    CHECK_OK(lh_fence_unlock(st, "ds", &released, &err), &err);
    CHECK(!released);
    CHECK_OK(lh_fence_acquire_exclusive(st, "ds", 0, &maint, &err), &err);
    CHECK_OK(lh_fence_release(maint, &err), &err);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

static void test_lock_race_processes(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    /* 4 processes race for .LOCK without retries: exactly one wins */
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            lh_fence *f = NULL;
            lh_error e;
            _exit(lh_fence_acquire(st, "ds", LH_FENCE_LOCK, 0, &f, &e) == LH_OK ? 0 : 1);
        }
    }
    int winners = 0;
    for (int i = 0; i < 4; i++) {
        int status = 0;
        waitpid(pids[i], &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) winners++;
    }
    CHECK_INT(winners, 1);
    bool released = false;
    CHECK_OK(lh_fence_unlock(st, "ds", &released, &err), &err);
    CHECK(released);
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
    return lh_test_report();
}
