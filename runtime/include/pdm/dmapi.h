/* dmapi.h: the data management API (DMAPI) of pdm, after The Open Group's
 * CAE Specification C429 "Systems Management: Data Storage Management
 * (XDSM) API" (1997). Chapter 4 of the specification ("Data Structures")
 * defines the types below, chapter 5 ("DMAPI Definitions") the functions,
 * one manual page each.
 *
 * Source-compatible with programs written for the SGI/XFS flavour of DMAPI
 * (the <xfs/dmapi.h> of libdm): the same type names and widths, enumeration
 * values, structure fields, macros and function signatures. Not binary
 * compatible: a program is recompiled against this header and linked with
 * libpdm. docs/DMAPI.md lists every function and its status in pdm.
 *
 * Conventions, as in XDSM: functions return 0 (or a count) on success, and
 * -1 with errno set on failure. Handles are opaque byte strings named by a
 * pointer and a length; the handles pdm returns are malloc'd and released
 * with dm_handle_free(). The global handle DM_GLOBAL_HANP/DM_GLOBAL_HLEN
 * (events not tied to one file system, such as MOUNT) is static storage:
 * dm_handle_free() ignores it. */
#ifndef PDM_DMAPI_H
#define PDM_DMAPI_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Basic types (XDSM ch. 4; widths of the SGI flavour, where the
 *      64-bit types are its __s64/__u64, i.e. long long) ---- */

typedef long long dm_attrloc_t;
typedef unsigned int dm_boolean_t;
typedef unsigned long long dm_eventset_t; /* bit n: event type n */
typedef unsigned long long dm_fsid_t;
typedef unsigned long long dm_ino_t;
typedef unsigned int dm_igen_t;
typedef long long dm_off_t;
typedef unsigned int dm_sequence_t;
typedef int dm_sessid_t;
typedef unsigned long long dm_size_t;
typedef long long dm_ssize_t;
typedef int dm_token_t;

/* Fixed-width stand-ins for dev_t, mode_t and nlink_t in dm_stat_t. */
typedef long long dm_dev_t;
typedef int dm_mode_t;
typedef int dm_nlink_t;

/* ---- Defines (XDSM ch. 4) ---- */

/* Managed region flags: rg_flags of dm_region_t. */
#define DM_REGION_NOEVENT 0x0
#define DM_REGION_READ 0x1
#define DM_REGION_WRITE 0x2
#define DM_REGION_TRUNCATE 0x4

/* Attribute masks: dm_get_fileattr, dm_set_fileattr, dm_get_dirattrs. */
#define DM_AT_MODE 0x0001
#define DM_AT_UID 0x0002
#define DM_AT_GID 0x0004
#define DM_AT_ATIME 0x0008
#define DM_AT_MTIME 0x0010
#define DM_AT_CTIME 0x0020
#define DM_AT_SIZE 0x0040
#define DM_AT_DTIME 0x0080
#define DM_AT_HANDLE 0x0100
#define DM_AT_EMASK 0x0200
#define DM_AT_PMANR 0x0400
#define DM_AT_PATTR 0x0800
#define DM_AT_STAT 0x1000
#define DM_AT_CFLAG 0x2000

#define DM_EV_WAIT 0x1       /* dm_get_events: block until an event arrives */
#define DM_MOUNT_RDONLY 0x1  /* me_mode of dm_mount_event_t */
#define DM_RR_WAIT 0x1       /* dm_request_right: block until granted */
#define DM_UNMOUNT_FORCE 0x1 /* ne_mode of an UNMOUNT dm_namesp_event_t */
#define DM_WRITE_SYNC 0x1    /* dm_write_invis: write through to the volume */

#define DM_SESSION_INFO_LEN 256 /* longest session info string, with its NUL */
#define DM_ATTR_NAME_SIZE 8
#define DM_NO_SESSION 0
#define DM_TRUE 1
#define DM_FALSE 0
#define DM_INVALID_TOKEN 0
#define DM_NO_TOKEN (-1)
#define DM_INVALID_HANP NULL
#define DM_INVALID_HLEN 0
/* An upper bound on the length of any handle (pdm's are 32 bytes today). */
#define DM_MAX_HANDLE_SIZE 56
#define DM_VER_STR_CONTENTS "pdm DMAPI (XDSM) API, Release 1.0"

/* The global handle: names no file system, only the events of all of them
 * (dm_set_disp for MOUNT). In pdm it is a valid 32-byte handle in static
 * storage, so it compares, hashes and validates like any other. */
extern const unsigned char pdm_dm_global_handle[];
#define DM_GLOBAL_HANP ((void *)pdm_dm_global_handle)
#define DM_GLOBAL_HLEN ((size_t)32)

/* Event sets (XDSM ch. 4, dm_eventset_t). */
#define DMEV_SET(event_type, event_list) ((event_list) |= ((dm_eventset_t)1 << (event_type)))
#define DMEV_CLR(event_type, event_list) ((event_list) &= ~((dm_eventset_t)1 << (event_type)))
#define DMEV_ISSET(event_type, event_list) \
  ((int)((((dm_eventset_t)(event_list)) >> (event_type)) & 1))
#define DMEV_ZERO(event_list) ((event_list) = 0)

/* ---- Variable-length data (XDSM ch. 4, dm_vardata_t) ----
 * vd_offset is relative to the start of the structure that holds the
 * dm_vardata_t, so buffers of such structures can be copied as they are. */
typedef struct {
  int vd_offset;
  unsigned int vd_length;
} dm_vardata_t;

#define DM_GET_VALUE(p, field, type) ((type)((char *)(p) + (p)->field.vd_offset))
#define DM_GET_LEN(p, field) ((p)->field.vd_length)
/* The next element of a list returned in a buffer, or NULL after the last.
 * _link (the distance to the next element) is not for applications. */
#define DM_STEP_TO_NEXT(p, type) ((type)((p)->_link ? (char *)(p) + (p)->_link : NULL))

/* ---- Enumerations (XDSM ch. 4) ---- */

typedef enum {
  DM_EVENT_INVALID = -1,
  DM_EVENT_CANCEL = 0,
  DM_EVENT_MOUNT = 1,
  DM_EVENT_PREUNMOUNT = 2,
  DM_EVENT_UNMOUNT = 3,
  DM_EVENT_DEBUT = 4,
  DM_EVENT_CREATE = 5,
  DM_EVENT_CLOSE = 6,
  DM_EVENT_POSTCREATE = 7,
  DM_EVENT_REMOVE = 8,
  DM_EVENT_POSTREMOVE = 9,
  DM_EVENT_RENAME = 10,
  DM_EVENT_POSTRENAME = 11,
  DM_EVENT_LINK = 12,
  DM_EVENT_POSTLINK = 13,
  DM_EVENT_SYMLINK = 14,
  DM_EVENT_POSTSYMLINK = 15,
  DM_EVENT_READ = 16,
  DM_EVENT_WRITE = 17,
  DM_EVENT_TRUNCATE = 18,
  DM_EVENT_ATTRIBUTE = 19,
  DM_EVENT_DESTROY = 20,
  DM_EVENT_NOSPACE = 21,
  DM_EVENT_USER = 22,
  DM_EVENT_MAX = 23
} dm_eventtype_t;

typedef enum { DM_RIGHT_NULL, DM_RIGHT_SHARED, DM_RIGHT_EXCL } dm_right_t;

typedef enum { DM_RESP_INVALID, DM_RESP_CONTINUE, DM_RESP_ABORT, DM_RESP_DONTCARE } dm_response_t;

typedef enum { DM_MSGTYPE_INVALID, DM_MSGTYPE_SYNC, DM_MSGTYPE_ASYNC } dm_msgtype_t;

typedef enum { DM_EXTENT_INVALID, DM_EXTENT_RES, DM_EXTENT_HOLE } dm_extenttype_t;

/* dm_get_config() queries. */
typedef enum {
  DM_CONFIG_INVALID,
  DM_CONFIG_BULKALL,
  DM_CONFIG_CREATE_BY_HANDLE,
  DM_CONFIG_DTIME_OVERLOAD,
  DM_CONFIG_LEGACY,
  DM_CONFIG_LOCK_UPGRADE,
  DM_CONFIG_MAX_ATTR_ON_DESTROY,
  DM_CONFIG_MAX_ATTRIBUTE_SIZE,
  DM_CONFIG_MAX_HANDLE_SIZE,
  DM_CONFIG_MAX_MANAGED_REGIONS,
  DM_CONFIG_MAX_MESSAGE_DATA,
  DM_CONFIG_OBJ_REF,
  DM_CONFIG_PENDING,
  DM_CONFIG_PERS_ATTRIBUTES,
  DM_CONFIG_PERS_EVENTS,
  DM_CONFIG_PERS_INHERIT_ATTRIBS,
  DM_CONFIG_PERS_MANAGED_REGIONS,
  DM_CONFIG_PUNCH_HOLE,
  DM_CONFIG_TOTAL_ATTRIBUTE_SPACE,
  DM_CONFIG_WILL_RETRY
} dm_config_t;

/* ---- Structures (XDSM ch. 4) ---- */

typedef struct dm_attrname {
  unsigned char an_chars[DM_ATTR_NAME_SIZE];
} dm_attrname_t;

typedef struct dm_attrlist {
  int _link;
  dm_attrname_t al_name;
  dm_vardata_t al_data;
} dm_attrlist_t;

typedef struct dm_dispinfo {
  int _link;
  unsigned int di_pad1; /* reserved */
  dm_vardata_t di_fshandle;
  dm_eventset_t di_eventset;
} dm_dispinfo_t;

/* One event message of dm_get_events / dm_find_eventmsg; ev_data holds the
 * event-specific structure below that matches ev_type. */
typedef struct dm_eventmsg {
  int _link;
  dm_eventtype_t ev_type;
  dm_token_t ev_token;
  dm_sequence_t ev_sequence;
  dm_vardata_t ev_data;
} dm_eventmsg_t;

typedef struct dm_cancel_event {
  dm_sequence_t ce_sequence;
  dm_token_t ce_token;
} dm_cancel_event_t;

/* READ, WRITE, TRUNCATE. */
typedef struct dm_data_event {
  dm_vardata_t de_handle;
  dm_off_t de_offset;
  dm_size_t de_length;
} dm_data_event_t;

typedef struct dm_destroy_event {
  dm_vardata_t ds_handle;
  dm_attrname_t ds_attrname;
  dm_vardata_t ds_attrcopy;
} dm_destroy_event_t;

typedef struct dm_mount_event {
  mode_t me_mode;
  dm_vardata_t me_handle1;
  dm_vardata_t me_handle2;
  dm_vardata_t me_name1;
  dm_vardata_t me_name2;
  dm_vardata_t me_roothandle;
} dm_mount_event_t;

/* The namespace events (CREATE, REMOVE, RENAME, LINK, SYMLINK and their POST
 * forms), PREUNMOUNT, UNMOUNT, ATTRIBUTE and NOSPACE. */
typedef struct dm_namesp_event {
  mode_t ne_mode;
  dm_vardata_t ne_handle1;
  dm_vardata_t ne_handle2;
  dm_vardata_t ne_name1;
  dm_vardata_t ne_name2;
  int ne_retcode;
} dm_namesp_event_t;

typedef struct dm_extent {
  dm_extenttype_t ex_type;
  unsigned int ex_pad1; /* reserved */
  dm_off_t ex_offset;
  dm_size_t ex_length;
} dm_extent_t;

typedef struct dm_fileattr {
  mode_t fa_mode;
  uid_t fa_uid;
  gid_t fa_gid;
  time_t fa_atime;
  time_t fa_mtime;
  time_t fa_ctime;
  time_t fa_dtime;
  unsigned int fa_pad1; /* reserved */
  dm_off_t fa_size;
} dm_fileattr_t;

typedef struct dm_inherit {
  dm_attrname_t ih_name;
  mode_t ih_filetype;
} dm_inherit_t;

typedef struct dm_region {
  dm_off_t rg_offset;
  dm_size_t rg_size;
  unsigned int rg_flags; /* DM_REGION_* */
  unsigned int rg_pad1;  /* reserved */
} dm_region_t;

/* dm_get_fileattr / dm_get_dirattrs: the DM fields, then those of stat(2). */
typedef struct dm_stat {
  int _link;
  dm_vardata_t dt_handle;
  dm_vardata_t dt_compname;
  int dt_nevents;
  dm_eventset_t dt_emask;
  int dt_pers;
  int dt_pmanreg;
  time_t dt_dtime;
  unsigned int dt_change;
  unsigned int dt_pad1; /* reserved */
  dm_dev_t dt_dev;
  dm_ino_t dt_ino;
  dm_mode_t dt_mode;
  dm_nlink_t dt_nlink;
  uid_t dt_uid;
  gid_t dt_gid;
  dm_dev_t dt_rdev;
  unsigned int dt_pad2; /* reserved */
  dm_off_t dt_size;
  time_t dt_atime;
  time_t dt_mtime;
  time_t dt_ctime;
  unsigned int dt_blksize;
  dm_size_t dt_blocks;
} dm_stat_t;

/* dm_pending: how long the DM application expects to take. */
typedef struct dm_timestruct {
  time_t dm_tv_sec;
  int dm_tv_nsec;
} dm_timestruct_t;

/* ---- Sessions (XDSM ch. 5: dm_init_service, dm_create_session,
 *      dm_destroy_session, dm_getall_sessions, dm_query_session) ---- */

int dm_init_service(char **versionstrpp);
int dm_create_session(dm_sessid_t oldsid, char *sessinfop, dm_sessid_t *newsidp);
int dm_destroy_session(dm_sessid_t sid);
int dm_getall_sessions(unsigned int nelem, dm_sessid_t *sidbufp, unsigned int *nelemp);
int dm_query_session(dm_sessid_t sid, size_t buflen, void *bufp, size_t *rlenp);

/* ---- Events (XDSM ch. 5: dm_get_events, dm_respond_event,
 *      dm_getall_tokens, dm_find_eventmsg, dm_move_event, dm_pending,
 *      dm_send_msg, dm_create_userevent) ---- */

int dm_get_events(dm_sessid_t sid, unsigned int maxmsgs, unsigned int flags, size_t buflen,
                  void *bufp, size_t *rlenp);
int dm_respond_event(dm_sessid_t sid, dm_token_t token, dm_response_t response, int reterror,
                     size_t buflen, void *respbufp);
int dm_getall_tokens(dm_sessid_t sid, unsigned int nelem, dm_token_t *tokenbufp,
                     unsigned int *nelemp);
int dm_find_eventmsg(dm_sessid_t sid, dm_token_t token, size_t buflen, void *bufp, size_t *rlenp);
int dm_move_event(dm_sessid_t srcsid, dm_token_t token, dm_sessid_t targetsid, dm_token_t *rtokenp);
int dm_pending(dm_sessid_t sid, dm_token_t token, dm_timestruct_t *delay);
int dm_send_msg(dm_sessid_t targetsid, dm_msgtype_t msgtype, size_t buflen, void *bufp);
int dm_create_userevent(dm_sessid_t sid, size_t msglen, void *msgdatap, dm_token_t *tokenp);

/* ---- Dispositions, event lists and configuration (XDSM ch. 5:
 *      dm_set_disp, dm_getall_disp, dm_set_eventlist, dm_get_eventlist,
 *      dm_get_config, dm_get_config_events, dm_get_mountinfo) ---- */

int dm_set_disp(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                dm_eventset_t *eventsetp, unsigned int maxevent);
int dm_getall_disp(dm_sessid_t sid, size_t buflen, void *bufp, size_t *rlenp);
int dm_set_eventlist(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                     dm_eventset_t *eventsetp, unsigned int maxevent);
int dm_get_eventlist(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int nelem,
                     dm_eventset_t *eventsetp, unsigned int *nelemp);
int dm_get_config(void *hanp, size_t hlen, dm_config_t flagname, dm_size_t *retvalp);
int dm_get_config_events(void *hanp, size_t hlen, unsigned int nelem, dm_eventset_t *eventsetp,
                         unsigned int *nelemp);
int dm_get_mountinfo(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, size_t buflen,
                     void *bufp, size_t *rlenp);

/* ---- Handles (XDSM ch. 5: dm_path_to_handle, dm_path_to_fshandle,
 *      dm_handle_to_fshandle, dm_handle_to_path, dm_handle_to_fsid,
 *      dm_handle_to_ino, dm_handle_to_igen, dm_make_handle,
 *      dm_make_fshandle, dm_handle_cmp, dm_handle_hash, dm_handle_is_valid,
 *      dm_handle_free) ---- */

int dm_path_to_handle(char *path, void **hanpp, size_t *hlenp);
int dm_path_to_fshandle(char *path, void **hanpp, size_t *hlenp);
int dm_handle_to_fshandle(void *hanp, size_t hlen, void **fshanpp, size_t *fshlenp);
int dm_handle_to_path(void *dirhanp, size_t dirhlen, void *targhanp, size_t targhlen, size_t buflen,
                      char *pathbufp, size_t *rlenp);
int dm_handle_to_fsid(void *hanp, size_t hlen, dm_fsid_t *fsidp);
int dm_handle_to_ino(void *hanp, size_t hlen, dm_ino_t *inop);
int dm_handle_to_igen(void *hanp, size_t hlen, dm_igen_t *igenp);
int dm_make_handle(dm_fsid_t *fsidp, dm_ino_t *inop, dm_igen_t *igenp, void **hanpp, size_t *hlenp);
int dm_make_fshandle(dm_fsid_t *fsidp, void **hanpp, size_t *hlenp);
int dm_handle_cmp(void *hanp1, size_t hlen1, void *hanp2, size_t hlen2);
unsigned int dm_handle_hash(void *hanp, size_t hlen);
dm_boolean_t dm_handle_is_valid(void *hanp, size_t hlen);
void dm_handle_free(void *hanp, size_t hlen);

/* ---- Managed regions and data (XDSM ch. 5: dm_set_region,
 *      dm_get_region, dm_read_invis, dm_write_invis, dm_punch_hole,
 *      dm_probe_hole, dm_get_allocinfo, dm_sync_by_handle) ---- */

int dm_set_region(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int nelem,
                  dm_region_t *regbufp, dm_boolean_t *exactflagp);
int dm_get_region(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int nelem,
                  dm_region_t *regbufp, unsigned int *nelemp);
dm_ssize_t dm_read_invis(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t off,
                         dm_size_t len, void *bufp);
dm_ssize_t dm_write_invis(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, int flags,
                          dm_off_t off, dm_size_t len, void *bufp);
int dm_punch_hole(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t off,
                  dm_size_t len);
int dm_probe_hole(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t off,
                  dm_size_t len, dm_off_t *roffp, dm_size_t *rlenp);
int dm_get_allocinfo(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t *offp,
                     unsigned int nelem, dm_extent_t *extentp, unsigned int *nelemp);
int dm_sync_by_handle(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token);

/* ---- Attributes (XDSM ch. 5: dm_set_dmattr, dm_get_dmattr,
 *      dm_remove_dmattr, dm_getall_dmattr, dm_get_fileattr,
 *      dm_set_fileattr, dm_get_dirattrs, dm_init_attrloc) ---- */

int dm_set_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                  dm_attrname_t *attrnamep, int setdtime, size_t buflen, void *bufp);
int dm_get_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                  dm_attrname_t *attrnamep, size_t buflen, void *bufp, size_t *rlenp);
int dm_remove_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, int setdtime,
                     dm_attrname_t *attrnamep);
int dm_getall_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, size_t buflen,
                     void *bufp, size_t *rlenp);
int dm_get_fileattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int mask,
                    dm_stat_t *statp);
int dm_set_fileattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int mask,
                    dm_fileattr_t *attrp);
int dm_get_dirattrs(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int mask,
                    dm_attrloc_t *locp, size_t buflen, void *bufp, size_t *rlenp);
int dm_init_attrloc(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_attrloc_t *locp);

/* ---- Access rights (XDSM ch. 5: dm_request_right, dm_release_right,
 *      dm_query_right, dm_upgrade_right, dm_downgrade_right) ---- */

int dm_request_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int flags,
                     dm_right_t right);
int dm_release_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token);
int dm_query_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_right_t *rightp);
int dm_upgrade_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token);
int dm_downgrade_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token);

/* ---- pdm extensions: session groups (beyond XDSM; docs/DMAPI.md) ----
 * The sessions of one distributed DM application (one per rank) join a
 * named group. An event disposed to a group goes to the member on the rank
 * where the event arises when there is one, else to its lowest active member;
 * with async_to_all set, an asynchronous event goes to every member. */

/* Puts a session into a group ("" leaves it); returns once every rank knows. */
int pdm_dm_set_session_group(dm_sessid_t sid, const char *group);
/* Takes a session out of its group; if that leaves the group with no member,
 * the events of *eventsetp are taken out of the file system's event list
 * (hanp: the file system's handle) in the same change, so no operation
 * ever finds them enabled with nobody to dispose them to (which fails it
 * with EIO). For the last instance of a DM application that enabled
 * events for its group; several may leave at once. */
int pdm_dm_leave_session_group(dm_sessid_t sid, void *hanp, size_t hlen, dm_eventset_t *eventsetp,
                               unsigned int maxevent);
/* standby != 0 makes a session a standby member of its group (EINVAL when it
 * is in none): when a member's rank dies, its orphaned session is taken over
 * by the group's lowest-numbered active standby. The orphan ends (its id
 * stays unused); its pending events come to the standby's session with their
 * tokens, and its dispositions and access rights are the standby's. */
int pdm_dm_set_session_standby(dm_sessid_t sid, int standby);
/* Sets a group's options: async_to_all != 0 delivers asynchronous events to
 * every member. */
int pdm_dm_set_group_options(const char *group, int async_to_all);
/* dm_set_disp for a group: the events of the file system (or, for MOUNT,
 * the global handle) are disposed to the group. */
int pdm_dm_set_group_disp(const char *group, void *hanp, size_t hlen, dm_eventset_t *eventsetp,
                          unsigned int maxevent);

/* ---- pdm extensions: failure handling (docs/FAILURES.md) ---- */

/* The source of an event the session holds (a token handed out by
 * dm_get_events): *rankp is the rank that raised it (-1 for none: MOUNT,
 * dm_create_userevent), *lostp is 1 when that rank died (it is not in this
 * rank's view): nobody waits for the answer any more, which is accepted and
 * ignored. EINVAL / ESRCH as dm_find_eventmsg. */
int pdm_dm_query_event_source(dm_sessid_t sid, dm_token_t token, int *rankp, int *lostp);

#ifdef __cplusplus
}
#endif

#endif /* PDM_DMAPI_H */
