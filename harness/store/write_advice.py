"""What to do when the machine refused a write into a results folder, by the refusal's cause."""

from __future__ import annotations

import errno


def write_advice(err: OSError) -> str:
    """The fix for a refused write, in words: free space for a full disk or quota, the file
    size limit for EFBIG (`ulimit -f`: freeing space does not help), permissions for a refusal
    of access or a read-only file system, else both of the common causes."""
    code = err.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "free space or raise the quota"
    if code == errno.EFBIG:
        return "raise the file size limit (ulimit -f) of the shell that runs harness"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "make the folder writable"
    return "free space or make the folder writable"
