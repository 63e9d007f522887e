import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../../test/support/wait';
import { noSuchProcessError, permissionError, processGoneError } from './errno';

describe('errors worded from what /proc says', () => {
  // `true &` exits at once; its parent then execs sleep, which never waits: a zombie stays.
  const parent = spawn('sh', ['-c', 'true & exec sleep 30'], { stdio: 'ignore' });
  afterAll(() => parent.kill('SIGKILL'));

  it('an exited process that is still a zombie is called one', async () => {
    const zombie = await until('the zombie child of sh', () => {
      const children = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim();
      return children === '' ? undefined : Number(children.split(' ')[0]);
    });
    await until('the child to be a zombie', () => readFileSync(`/proc/${zombie}/stat`, 'latin1').includes(') Z '));
    expect(processGoneError(zombie, 'a test').causeText).toBe(
      `process ${zombie} has exited (it is a zombie: its parent has not collected its exit status yet)`,
    );
  });

  it('a reaped process is only "exited"', () => {
    const gone = noSuchProcessError(0x3fffffff);
    expect(gone.code).toBe('ESRCH');
    expect(processGoneError(0x3fffffff).causeText).toBe(`process ${0x3fffffff} has exited`);
  });

  it('a permission error names the owner and our uid', () => {
    expect(permissionError(process.pid, 'read memory').message).toMatch(
      new RegExp(`^not permitted to read memory of process ${process.pid}, owned by uid ${process.getuid!()}; we run as uid ${process.getuid!()}`),
    );
  });
});
