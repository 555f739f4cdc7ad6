/* dmapi_header_check: <pdm/dmapi.h> as a C program written for the SGI/XFS
 * DMAPI sees it. Built as strict C99 (-std=c99 -pedantic -Werror), so the
 * header must be plain C; the file-scope checks fail the build, the runtime
 * checks the test. The expected values are those of the SGI flavour of XDSM
 * (C429 ch. 4 and 5). Exit 0 = success. */
#include <pdm/dmapi.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* C99 has no _Static_assert: a negative array size fails the build. */
#define STATIC_CHECK(name, cond) typedef char static_check_##name[(cond) ? 1 : -1]
/* The field exists and has the size of the given type. */
#define FIELD(type, field, as) \
  STATIC_CHECK(type##_##field, sizeof(((type *)0)->field) == sizeof(as))

/* ---- Enumeration values ---- */
STATIC_CHECK(event_invalid, DM_EVENT_INVALID == -1);
STATIC_CHECK(event_cancel, DM_EVENT_CANCEL == 0);
STATIC_CHECK(event_mount, DM_EVENT_MOUNT == 1);
STATIC_CHECK(event_preunmount, DM_EVENT_PREUNMOUNT == 2);
STATIC_CHECK(event_unmount, DM_EVENT_UNMOUNT == 3);
STATIC_CHECK(event_debut, DM_EVENT_DEBUT == 4);
STATIC_CHECK(event_create, DM_EVENT_CREATE == 5);
STATIC_CHECK(event_close, DM_EVENT_CLOSE == 6);
STATIC_CHECK(event_postcreate, DM_EVENT_POSTCREATE == 7);
STATIC_CHECK(event_remove, DM_EVENT_REMOVE == 8);
STATIC_CHECK(event_postremove, DM_EVENT_POSTREMOVE == 9);
STATIC_CHECK(event_rename, DM_EVENT_RENAME == 10);
STATIC_CHECK(event_postrename, DM_EVENT_POSTRENAME == 11);
STATIC_CHECK(event_link, DM_EVENT_LINK == 12);
STATIC_CHECK(event_postlink, DM_EVENT_POSTLINK == 13);
STATIC_CHECK(event_symlink, DM_EVENT_SYMLINK == 14);
STATIC_CHECK(event_postsymlink, DM_EVENT_POSTSYMLINK == 15);
STATIC_CHECK(event_read, DM_EVENT_READ == 16);
STATIC_CHECK(event_write, DM_EVENT_WRITE == 17);
STATIC_CHECK(event_truncate, DM_EVENT_TRUNCATE == 18);
STATIC_CHECK(event_attribute, DM_EVENT_ATTRIBUTE == 19);
STATIC_CHECK(event_destroy, DM_EVENT_DESTROY == 20);
STATIC_CHECK(event_nospace, DM_EVENT_NOSPACE == 21);
STATIC_CHECK(event_user, DM_EVENT_USER == 22);
STATIC_CHECK(event_max, DM_EVENT_MAX == 23);

STATIC_CHECK(right_null, DM_RIGHT_NULL == 0);
STATIC_CHECK(right_shared, DM_RIGHT_SHARED == 1);
STATIC_CHECK(right_excl, DM_RIGHT_EXCL == 2);
STATIC_CHECK(resp_invalid, DM_RESP_INVALID == 0);
STATIC_CHECK(resp_continue, DM_RESP_CONTINUE == 1);
STATIC_CHECK(resp_abort, DM_RESP_ABORT == 2);
STATIC_CHECK(resp_dontcare, DM_RESP_DONTCARE == 3);
STATIC_CHECK(msgtype_invalid, DM_MSGTYPE_INVALID == 0);
STATIC_CHECK(msgtype_sync, DM_MSGTYPE_SYNC == 1);
STATIC_CHECK(msgtype_async, DM_MSGTYPE_ASYNC == 2);
STATIC_CHECK(extent_invalid, DM_EXTENT_INVALID == 0);
STATIC_CHECK(extent_res, DM_EXTENT_RES == 1);
STATIC_CHECK(extent_hole, DM_EXTENT_HOLE == 2);

STATIC_CHECK(config_invalid, DM_CONFIG_INVALID == 0);
STATIC_CHECK(config_bulkall, DM_CONFIG_BULKALL == 1);
STATIC_CHECK(config_create_by_handle, DM_CONFIG_CREATE_BY_HANDLE == 2);
STATIC_CHECK(config_dtime_overload, DM_CONFIG_DTIME_OVERLOAD == 3);
STATIC_CHECK(config_legacy, DM_CONFIG_LEGACY == 4);
STATIC_CHECK(config_lock_upgrade, DM_CONFIG_LOCK_UPGRADE == 5);
STATIC_CHECK(config_max_attr_on_destroy, DM_CONFIG_MAX_ATTR_ON_DESTROY == 6);
STATIC_CHECK(config_max_attribute_size, DM_CONFIG_MAX_ATTRIBUTE_SIZE == 7);
STATIC_CHECK(config_max_handle_size, DM_CONFIG_MAX_HANDLE_SIZE == 8);
STATIC_CHECK(config_max_managed_regions, DM_CONFIG_MAX_MANAGED_REGIONS == 9);
STATIC_CHECK(config_max_message_data, DM_CONFIG_MAX_MESSAGE_DATA == 10);
STATIC_CHECK(config_obj_ref, DM_CONFIG_OBJ_REF == 11);
STATIC_CHECK(config_pending, DM_CONFIG_PENDING == 12);
STATIC_CHECK(config_pers_attributes, DM_CONFIG_PERS_ATTRIBUTES == 13);
STATIC_CHECK(config_pers_events, DM_CONFIG_PERS_EVENTS == 14);
STATIC_CHECK(config_pers_inherit_attribs, DM_CONFIG_PERS_INHERIT_ATTRIBS == 15);
STATIC_CHECK(config_pers_managed_regions, DM_CONFIG_PERS_MANAGED_REGIONS == 16);
STATIC_CHECK(config_punch_hole, DM_CONFIG_PUNCH_HOLE == 17);
STATIC_CHECK(config_total_attribute_space, DM_CONFIG_TOTAL_ATTRIBUTE_SPACE == 18);
STATIC_CHECK(config_will_retry, DM_CONFIG_WILL_RETRY == 19);

/* ---- Defines ---- */
STATIC_CHECK(region_noevent, DM_REGION_NOEVENT == 0x0);
STATIC_CHECK(region_read, DM_REGION_READ == 0x1);
STATIC_CHECK(region_write, DM_REGION_WRITE == 0x2);
STATIC_CHECK(region_truncate, DM_REGION_TRUNCATE == 0x4);
STATIC_CHECK(at_mode, DM_AT_MODE == 0x0001);
STATIC_CHECK(at_uid, DM_AT_UID == 0x0002);
STATIC_CHECK(at_gid, DM_AT_GID == 0x0004);
STATIC_CHECK(at_atime, DM_AT_ATIME == 0x0008);
STATIC_CHECK(at_mtime, DM_AT_MTIME == 0x0010);
STATIC_CHECK(at_ctime, DM_AT_CTIME == 0x0020);
STATIC_CHECK(at_size, DM_AT_SIZE == 0x0040);
STATIC_CHECK(at_dtime, DM_AT_DTIME == 0x0080);
STATIC_CHECK(at_handle, DM_AT_HANDLE == 0x0100);
STATIC_CHECK(at_emask, DM_AT_EMASK == 0x0200);
STATIC_CHECK(at_pmanr, DM_AT_PMANR == 0x0400);
STATIC_CHECK(at_pattr, DM_AT_PATTR == 0x0800);
STATIC_CHECK(at_stat, DM_AT_STAT == 0x1000);
STATIC_CHECK(at_cflag, DM_AT_CFLAG == 0x2000);
STATIC_CHECK(ev_wait, DM_EV_WAIT == 0x1);
STATIC_CHECK(rr_wait, DM_RR_WAIT == 0x1);
STATIC_CHECK(mount_rdonly, DM_MOUNT_RDONLY == 0x1);
STATIC_CHECK(unmount_force, DM_UNMOUNT_FORCE == 0x1);
STATIC_CHECK(write_sync, DM_WRITE_SYNC == 0x1);
STATIC_CHECK(session_info_len, DM_SESSION_INFO_LEN == 256);
STATIC_CHECK(attr_name_size, DM_ATTR_NAME_SIZE == 8);
STATIC_CHECK(no_session, DM_NO_SESSION == 0);
STATIC_CHECK(no_token, DM_NO_TOKEN == -1);
STATIC_CHECK(invalid_token, DM_INVALID_TOKEN == 0);
STATIC_CHECK(true_false, DM_TRUE == 1 && DM_FALSE == 0);
STATIC_CHECK(invalid_hlen, DM_INVALID_HLEN == 0);
STATIC_CHECK(global_hlen, DM_GLOBAL_HLEN <= DM_MAX_HANDLE_SIZE);

/* ---- Type widths and signedness of the SGI flavour ---- */
STATIC_CHECK(attrloc_t, sizeof(dm_attrloc_t) == 8 && (dm_attrloc_t)-1 < 0);
STATIC_CHECK(boolean_t, sizeof(dm_boolean_t) == 4 && (dm_boolean_t)-1 > 0);
STATIC_CHECK(eventset_t, sizeof(dm_eventset_t) == 8 && (dm_eventset_t)-1 > 0);
STATIC_CHECK(fsid_t, sizeof(dm_fsid_t) == 8 && (dm_fsid_t)-1 > 0);
STATIC_CHECK(ino_t, sizeof(dm_ino_t) == 8 && (dm_ino_t)-1 > 0);
STATIC_CHECK(igen_t, sizeof(dm_igen_t) == 4 && (dm_igen_t)-1 > 0);
STATIC_CHECK(off_t, sizeof(dm_off_t) == 8 && (dm_off_t)-1 < 0);
STATIC_CHECK(sequence_t, sizeof(dm_sequence_t) == 4 && (dm_sequence_t)-1 > 0);
STATIC_CHECK(sessid_t, sizeof(dm_sessid_t) == sizeof(int) && (dm_sessid_t)-1 < 0);
STATIC_CHECK(size_t, sizeof(dm_size_t) == 8 && (dm_size_t)-1 > 0);
STATIC_CHECK(ssize_t, sizeof(dm_ssize_t) == 8 && (dm_ssize_t)-1 < 0);
STATIC_CHECK(token_t, sizeof(dm_token_t) == sizeof(int) && (dm_token_t)-1 < 0);
STATIC_CHECK(events_fit, DM_EVENT_MAX <= 8 * sizeof(dm_eventset_t));

/* ---- Structure fields ---- */
FIELD(dm_vardata_t, vd_offset, int);
FIELD(dm_vardata_t, vd_length, unsigned int);
FIELD(dm_attrname_t, an_chars, unsigned char[DM_ATTR_NAME_SIZE]);
FIELD(dm_attrlist_t, al_name, dm_attrname_t);
FIELD(dm_attrlist_t, al_data, dm_vardata_t);
FIELD(dm_dispinfo_t, di_fshandle, dm_vardata_t);
FIELD(dm_dispinfo_t, di_eventset, dm_eventset_t);
FIELD(dm_eventmsg_t, ev_type, dm_eventtype_t);
FIELD(dm_eventmsg_t, ev_token, dm_token_t);
FIELD(dm_eventmsg_t, ev_sequence, dm_sequence_t);
FIELD(dm_eventmsg_t, ev_data, dm_vardata_t);
FIELD(dm_cancel_event_t, ce_sequence, dm_sequence_t);
FIELD(dm_cancel_event_t, ce_token, dm_token_t);
FIELD(dm_data_event_t, de_handle, dm_vardata_t);
FIELD(dm_data_event_t, de_offset, dm_off_t);
FIELD(dm_data_event_t, de_length, dm_size_t);
FIELD(dm_destroy_event_t, ds_handle, dm_vardata_t);
FIELD(dm_destroy_event_t, ds_attrname, dm_attrname_t);
FIELD(dm_destroy_event_t, ds_attrcopy, dm_vardata_t);
FIELD(dm_mount_event_t, me_mode, mode_t);
FIELD(dm_mount_event_t, me_handle1, dm_vardata_t);
FIELD(dm_mount_event_t, me_handle2, dm_vardata_t);
FIELD(dm_mount_event_t, me_name1, dm_vardata_t);
FIELD(dm_mount_event_t, me_name2, dm_vardata_t);
FIELD(dm_mount_event_t, me_roothandle, dm_vardata_t);
FIELD(dm_namesp_event_t, ne_mode, mode_t);
FIELD(dm_namesp_event_t, ne_handle1, dm_vardata_t);
FIELD(dm_namesp_event_t, ne_handle2, dm_vardata_t);
FIELD(dm_namesp_event_t, ne_name1, dm_vardata_t);
FIELD(dm_namesp_event_t, ne_name2, dm_vardata_t);
FIELD(dm_namesp_event_t, ne_retcode, int);
FIELD(dm_extent_t, ex_type, dm_extenttype_t);
FIELD(dm_extent_t, ex_offset, dm_off_t);
FIELD(dm_extent_t, ex_length, dm_size_t);
FIELD(dm_fileattr_t, fa_mode, mode_t);
FIELD(dm_fileattr_t, fa_uid, uid_t);
FIELD(dm_fileattr_t, fa_gid, gid_t);
FIELD(dm_fileattr_t, fa_atime, time_t);
FIELD(dm_fileattr_t, fa_mtime, time_t);
FIELD(dm_fileattr_t, fa_ctime, time_t);
FIELD(dm_fileattr_t, fa_dtime, time_t);
FIELD(dm_fileattr_t, fa_size, dm_off_t);
FIELD(dm_inherit_t, ih_name, dm_attrname_t);
FIELD(dm_inherit_t, ih_filetype, mode_t);
FIELD(dm_region_t, rg_offset, dm_off_t);
FIELD(dm_region_t, rg_size, dm_size_t);
FIELD(dm_region_t, rg_flags, unsigned int);
FIELD(dm_stat_t, dt_handle, dm_vardata_t);
FIELD(dm_stat_t, dt_compname, dm_vardata_t);
FIELD(dm_stat_t, dt_nevents, int);
FIELD(dm_stat_t, dt_emask, dm_eventset_t);
FIELD(dm_stat_t, dt_pers, int);
FIELD(dm_stat_t, dt_pmanreg, int);
FIELD(dm_stat_t, dt_dtime, time_t);
FIELD(dm_stat_t, dt_change, unsigned int);
FIELD(dm_stat_t, dt_dev, dm_dev_t);
FIELD(dm_stat_t, dt_ino, dm_ino_t);
FIELD(dm_stat_t, dt_mode, dm_mode_t);
FIELD(dm_stat_t, dt_nlink, dm_nlink_t);
FIELD(dm_stat_t, dt_uid, uid_t);
FIELD(dm_stat_t, dt_gid, gid_t);
FIELD(dm_stat_t, dt_rdev, dm_dev_t);
FIELD(dm_stat_t, dt_size, dm_off_t);
FIELD(dm_stat_t, dt_atime, time_t);
FIELD(dm_stat_t, dt_mtime, time_t);
FIELD(dm_stat_t, dt_ctime, time_t);
FIELD(dm_stat_t, dt_blksize, unsigned int);
FIELD(dm_stat_t, dt_blocks, dm_size_t);
FIELD(dm_timestruct_t, dm_tv_sec, time_t);
FIELD(dm_timestruct_t, dm_tv_nsec, int);

/* ---- Signatures: a redeclaration that does not match the header's is a
 *      "conflicting types" error. Declared only, so nothing needs linking. */
int dm_init_service(char **versionstrpp);
int dm_create_session(dm_sessid_t oldsid, char *sessinfop, dm_sessid_t *newsidp);
int dm_destroy_session(dm_sessid_t sid);
int dm_getall_sessions(unsigned int nelem, dm_sessid_t *sidbufp, unsigned int *nelemp);
int dm_query_session(dm_sessid_t sid, size_t buflen, void *bufp, size_t *rlenp);
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
int dm_request_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int flags,
                     dm_right_t right);
int dm_release_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token);
int dm_query_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_right_t *rightp);
int dm_upgrade_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token);
int dm_downgrade_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token);

/* DM_GLOBAL_HANP is an address constant, usable in a static initialiser. */
static void *const global_hanp = DM_GLOBAL_HANP;

/* ---- Runtime checks ---- */

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static void event_sets(void) {
  dm_eventset_t set;
  int event;
  int other;
  DMEV_ZERO(set);
  CHECK(set == 0);
  for (event = 0; event < DM_EVENT_MAX; ++event) {
    DMEV_ZERO(set);
    DMEV_SET(event, set);
    CHECK(set == (dm_eventset_t)1 << event);
    for (other = 0; other < DM_EVENT_MAX; ++other)
      CHECK(DMEV_ISSET(other, set) == (other == event));
    DMEV_CLR(event, set);
    CHECK(set == 0);
  }
  DMEV_ZERO(set);
  DMEV_SET(DM_EVENT_READ, set);
  DMEV_SET(DM_EVENT_WRITE, set);
  DMEV_SET(DM_EVENT_USER, set);
  CHECK(set == ((1ull << 16) | (1ull << 17) | (1ull << 22)));
  DMEV_CLR(DM_EVENT_WRITE, set);
  CHECK(DMEV_ISSET(DM_EVENT_READ, set) == 1);
  CHECK(DMEV_ISSET(DM_EVENT_WRITE, set) == 0);
  CHECK(DMEV_ISSET(DM_EVENT_USER, set) == 1);
}

/* Two READ event messages in one buffer, as dm_get_events returns them,
 * walked the way a DM application walks them. */
struct read_message {
  dm_eventmsg_t msg;
  dm_data_event_t data;
  unsigned char handle[DM_MAX_HANDLE_SIZE];
};

static void event_message_lists(void) {
  struct read_message list[2];
  dm_fsid_t fsid = 0x3f9c0a1b2c3d4e5fULL;
  dm_ino_t ino;
  dm_igen_t igen = 1;
  dm_eventmsg_t *msg;
  int index;
  int seen = 0;
  memset(list, 0, sizeof list);
  for (index = 0; index < 2; ++index) {
    struct read_message *m = &list[index];
    void *hanp = NULL;
    size_t hlen = 0;
    ino = 100 + (dm_ino_t)index;
    CHECK(dm_make_handle(&fsid, &ino, &igen, &hanp, &hlen) == 0);
    CHECK(hlen <= sizeof m->handle);
    if (hanp != NULL && hlen <= sizeof m->handle) memcpy(m->handle, hanp, hlen);
    dm_handle_free(hanp, hlen);
    m->msg._link = index == 0 ? (int)sizeof *m : 0;
    m->msg.ev_type = DM_EVENT_READ;
    m->msg.ev_token = 7 + index;
    m->msg.ev_data.vd_offset = (int)offsetof(struct read_message, data);
    m->msg.ev_data.vd_length = sizeof m->data;
    m->data.de_handle.vd_offset =
        (int)(offsetof(struct read_message, handle) - offsetof(struct read_message, data));
    m->data.de_handle.vd_length = (unsigned int)hlen;
    m->data.de_offset = 4096 * index;
    m->data.de_length = 4096;
  }
  for (msg = &list[0].msg; msg != NULL; msg = DM_STEP_TO_NEXT(msg, dm_eventmsg_t *)) {
    dm_data_event_t *data = DM_GET_VALUE(msg, ev_data, dm_data_event_t *);
    void *hanp = DM_GET_VALUE(data, de_handle, void *);
    size_t hlen = DM_GET_LEN(data, de_handle);
    dm_ino_t got = 0;
    CHECK(msg->ev_type == DM_EVENT_READ);
    CHECK(msg->ev_token == 7 + seen);
    CHECK(DM_GET_LEN(msg, ev_data) == sizeof(dm_data_event_t));
    CHECK(data->de_offset == 4096 * seen);
    CHECK(dm_handle_is_valid(hanp, hlen) == DM_TRUE);
    CHECK(dm_handle_to_ino(hanp, hlen, &got) == 0 && got == 100 + (dm_ino_t)seen);
    ++seen;
  }
  CHECK(seen == 2);
}

static void handles(void) {
  dm_fsid_t fsid = 0x3f9c0a1b2c3d4e5fULL;
  dm_fsid_t fsid_out = 0;
  dm_ino_t ino = 42;
  dm_igen_t igen = 7;
  void *hanp = NULL;
  size_t hlen = 0;
  void *fshanp = NULL;
  size_t fshlen = 0;
  void *made = NULL;
  size_t madelen = 0;

  CHECK(global_hanp == DM_GLOBAL_HANP);
  CHECK(dm_handle_is_valid(DM_GLOBAL_HANP, DM_GLOBAL_HLEN) == DM_TRUE);
  CHECK(dm_handle_is_valid(DM_INVALID_HANP, DM_INVALID_HLEN) == DM_FALSE);
  dm_handle_free(DM_GLOBAL_HANP, DM_GLOBAL_HLEN); /* a no-op */

  CHECK(dm_make_handle(&fsid, &ino, &igen, &hanp, &hlen) == 0);
  CHECK(hlen > 0 && hlen <= DM_MAX_HANDLE_SIZE);
  CHECK(dm_handle_to_fshandle(hanp, hlen, &fshanp, &fshlen) == 0);
  CHECK(dm_make_fshandle(&fsid, &made, &madelen) == 0);
  CHECK(dm_handle_cmp(fshanp, fshlen, made, madelen) == 0);
  CHECK(dm_handle_cmp(hanp, hlen, made, madelen) != 0);
  CHECK(dm_handle_hash(fshanp, fshlen) == dm_handle_hash(made, madelen));
  CHECK(dm_handle_to_fsid(made, madelen, &fsid_out) == 0 && fsid_out == fsid);
  errno = 0;
  CHECK(dm_handle_to_ino(made, madelen, &ino) == -1 && errno == EBADF);
  dm_handle_free(made, madelen);
  dm_handle_free(fshanp, fshlen);
  dm_handle_free(hanp, hlen);
}

int main(void) {
  event_sets();
  event_message_lists();
  handles();
  printf("dmapi_header_check: %s (%d failed checks)\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
