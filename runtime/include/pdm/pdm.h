/* pdm.h: the C API of the pdm parallel file system.
 *
 * pdm_start() mounts a file system on every rank of a communicator (it is
 * collective); afterwards each rank calls the POSIX-like functions below on
 * paths absolute within the file system ("/dir/file"). They return -1 (or
 * NULL) and set errno on error, like their POSIX namesakes. pdm_stop() is
 * collective too and unmounts.
 *
 * MPI must be initialised with MPI_THREAD_MULTIPLE before pdm_start: each
 * rank runs a progress thread that serves its peers. */
#ifndef PDM_PDM_H
#define PDM_PDM_H

#include <dirent.h>
#include <mpi.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Mounts the file system described by fs_config (the file 'pdm mkfs'
 * wrote) on every rank of comm. Returns 0, or -1 with errno on every rank
 * (e.g. EBUSY: another job holds the mount lease; ENOTSUP: MPI lacks
 * MPI_THREAD_MULTIPLE). pdm_last_error() gives the reason in words.
 * If SIGPIPE is at its default action it is set to ignored: MPI's TCP
 * transport writing to a dead rank would otherwise end this process. */
int pdm_start(MPI_Comm comm, const char *fs_config);
/* Unmounts; collective over the communicator given to pdm_start. */
int pdm_stop(void);

/* The cluster view this rank is in (docs/FAILURES.md): a view changes when
 * ranks die. `members` (room for max_members) receives the live ranks, in
 * the numbering of the communicator given to pdm_start. Returns 0, or -1
 * with errno: ENXIO not started, EFAULT null info, E2BIG members too small
 * (info->members then says how many are needed). */
struct pdm_view_info {
  unsigned long long epoch;        /* 1 for the job's first view, +1 per change */
  int ranks;                       /* ranks of the job's first view */
  int members;                     /* live ranks now */
  int manager;                     /* the session manager: the lowest live rank */
  int metadata_server;             /* the owner of volume 0 */
  unsigned long long view_changes; /* view changes this rank installed */
};
int pdm_get_view(struct pdm_view_info *info, int *members, int max_members);

/* Calls MPI_Finalize and returns its code. If ranks of this job died (a
 * view change removed them), Open MPI 4.1's MPI_Finalize can hang in its
 * closing fence (docs/FAILURES.md); pdm_finalize then lets it take at most
 * cluster.finalize_timeout (PDM_CLUSTER_FINALIZE_TIMEOUT, default 10s) and
 * otherwise ends the process with exit_status, the status the program
 * would return, after one line on stderr. Call it after pdm_stop, in place
 * of MPI_Finalize. */
int pdm_finalize(int exit_status);

/* The message of the last failed pdm call on this thread ("" if none). */
const char *pdm_last_error(void);

int pdm_open(const char *path, int flags, mode_t mode);
int pdm_close(int fd);
ssize_t pdm_pread(int fd, void *buf, size_t count, off_t offset);
ssize_t pdm_pwrite(int fd, const void *buf, size_t count, off_t offset);
int pdm_ftruncate(int fd, off_t length);
int pdm_fsync(int fd);
/* lazy != 0: this descriptor's writes return once their data landed,
 * before the metadata server applied the file's new size and mtime. This
 * rank always sees its own writes; other ranks see the size after this
 * rank's pdm_fsync or pdm_close of the file (a read past the size, fstat
 * and ftruncate on this rank also wait for it). A failure to publish is
 * reported by the next pdm_fsync or pdm_close, as a write-back error is.
 * Saves a metadata round trip per write on ranks that are not the metadata
 * server (docs/PERFORMANCE.md); off by default. lazy == 0 publishes first.
 * The MPI-IO shim opens its files so (docs/MPIIO.md). */
int pdm_set_lazy_size(int fd, int lazy);
int pdm_stat(const char *path, struct stat *st);
int pdm_fstat(int fd, struct stat *st);
int pdm_unlink(const char *path);
int pdm_rename(const char *oldpath, const char *newpath);
int pdm_mkdir(const char *path, mode_t mode);
int pdm_rmdir(const char *path);

typedef struct pdm_dir PDM_DIR;
PDM_DIR *pdm_opendir(const char *path);
/* The next entry ("." and ".." are not listed), or NULL at the end (errno
 * unchanged) or on error (errno set). The entry is valid until the next
 * call on the same stream. */
struct dirent *pdm_readdir(PDM_DIR *dir);
int pdm_closedir(PDM_DIR *dir);

#ifdef __cplusplus
}
#endif

#endif /* PDM_PDM_H */
