/**
 * SO_PEERCRED: who is on the other end of a connected Unix-domain socket. The kernel records the
 * peer's pid/uid/gid at connect() time; the peer cannot forge them (unlike anything it sends).
 */
import { bufferAddress, keepAlive, lastErrno, libc } from './libc';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

const getsockopt = libc.func('int getsockopt(int fd, int level, int optname, uintptr_t optval, uintptr_t optlen)');

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** The credentials of the peer of Unix socket `fd`, or `{errno}` when the kernel refuses (not a Unix socket, closed). */
export function peerCred(fd: number): PeerCred | { errno: number } {
  // struct ucred { pid_t pid; uid_t uid; gid_t gid; } — three 32-bit fields.
  const buf = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12, 0);
  const rc = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, bufferAddress(buf), bufferAddress(len)) as number;
  const errno = rc < 0 ? lastErrno() : 0;
  keepAlive(buf);
  keepAlive(len);
  if (rc < 0) return { errno };
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}
