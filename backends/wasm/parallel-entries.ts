// The entries of a threaded module (backends/wasm/parallel.ts). The main thread runs the kernel sequence alone;
// before a kernel that splits its work it publishes the kernel (abi.ts THREAD_CTRL.job: an epoch naming it, and the
// next item to claim), then claims items itself and waits only until every claimed item is done. Workers live in
// `worker(tid)`: they join whatever kernel is published (through a table of the split kernels), and spin, then
// sleep, when there is none. No thread ever waits for a thread that has not claimed work: a worker the OS has
// descheduled only means the others take more items.

import binaryen from './binaryen.js';
import { THREAD_CTRL as T } from './abi.js';
import type { Expr } from './fn.js';

/** One kernel call of an entry: `fn` is the kernel's function, `par` when it splits its work across threads. */
export interface ThreadStep { readonly call: () => Expr; readonly par: boolean; readonly fn: string }

/** The globals holding this instance's thread index and the epoch of the kernel it is running. */
export const TID_GLOBAL = '__tid';
export const EPOCH_GLOBAL = '__epoch';
/** Set (by the runtime, through `set_wait`) where this thread may block: never on a browser page's main thread. */
export const CAN_WAIT_GLOBAL = '__can_wait';
const RUN = '__run', TABLE = '__split_kernels';
/** An epoch's low 12 bits are the kernel's slot in the table; this slot means quit. */
export const QUIT_SLOT = 0xfff;
/** Idle spins before a worker sleeps (tens of microseconds: the gap between two split kernels is often less). */
const SPIN = 1 << 14;

const c = (m: binaryen.Module, n: number): Expr => m.i32.const(n);
/** The i64 timeout of a wait that does not time out (binaryen.js takes a bigint, its typings two halves). */
const forever = (m: binaryen.Module): Expr => (m.i64.const as unknown as (v: bigint) => Expr)(-1n);
/** The epoch (high half) of the job word. */
const jobEpoch = (m: binaryen.Module): Expr => m.i32.wrap(m.i64.shr_u(m.i64.atomic.load(0, c(m, T.job)), (m.i64.const as unknown as (v: bigint) => Expr)(32n)));

/** The globals, the table of split kernels, `__publish(slot)` and the entries `run` (+ `run_swapped`) and `worker`. */
export function addThreadedEntries(m: binaryen.Module, entries: readonly (readonly [string, readonly ThreadStep[]])[]): void {
  const i32 = binaryen.i32;
  m.addGlobal(TID_GLOBAL, i32, true, c(m, 0));
  m.addGlobal(EPOCH_GLOBAL, i32, true, c(m, 0));
  m.addGlobal(RUN, i32, true, c(m, 0));
  m.addGlobal(CAN_WAIT_GLOBAL, i32, true, c(m, 0));
  m.addFunction('set_wait', binaryen.createType([i32]), binaryen.none, [], m.global.set(CAN_WAIT_GLOBAL, m.local.get(0, i32)));
  m.addFunctionExport('set_wait', 'set_wait');
  const split = [...new Set(entries.flatMap(([, st]) => st.filter((s) => s.par).map((s) => s.fn)))];
  if (split.length >= QUIT_SLOT) throw new Error(`threads: ${split.length} split kernels, at most ${QUIT_SLOT - 1}`);
  m.addTable(TABLE, split.length, split.length);
  if (split.length) m.addActiveElementSegment(TABLE, `${TABLE}_elems`, split, c(m, 0));
  const g = (name: string): Expr => m.global.get(name, i32);
  const l = (k: number): Expr => m.local.get(k, i32);

  // __publish(slot): done = 0 first (a fast worker's first item must count), then the job word, then wake sleepers
  m.addFunction('__publish', binaryen.createType([i32]), binaryen.none, [], m.block(null, [
    m.global.set(EPOCH_GLOBAL, m.i32.or(m.i32.shl(g(RUN), c(m, 12)), l(0))),
    m.i32.atomic.store(0, c(m, T.done), c(m, 0)),
    m.i64.atomic.store(0, c(m, T.job), m.i64.shl(m.i64.extend_u(g(EPOCH_GLOBAL)), (m.i64.const as unknown as (v: bigint) => Expr)(32n))),
    m.drop(m.i32.atomic.rmw.add(0, c(m, T.wake), c(m, 1))),
    m.if(m.i32.atomic.load(0, c(m, T.sleepers)), m.drop(m.memory.atomic.notify(c(m, T.wake), c(m, 1 << 30)))),
  ]));

  for (const [name, steps] of entries) {
    const body: Expr[] = [
      m.global.set(TID_GLOBAL, c(m, 0)),
      // epochs of this run: the run counter above the slot, never 0 (a fresh worker's "seen")
      m.global.set(RUN, m.i32.add(m.i32.rem_u(g(RUN), c(m, 0xfffff)), c(m, 1))),
    ];
    for (const s of steps) {
      if (s.par) body.push(m.call('__publish', [c(m, split.indexOf(s.fn))], binaryen.none));
      body.push(s.call());
    }
    m.addFunction(name, binaryen.none, binaryen.none, [], m.block(null, body));
    m.addFunctionExport(name, name);
  }

  // worker(tid): locals 1 the job's epoch, 2 spins, 3 the wake count read before sleeping
  m.addFunction('worker', binaryen.createType([i32]), binaryen.none, [i32, i32, i32], m.block(null, [
    m.global.set(TID_GLOBAL, l(0)),
    m.global.set(EPOCH_GLOBAL, c(m, 0)),
    m.loop('jobs', m.block(null, [
      m.local.set(1, jobEpoch(m)),
      m.if(m.i32.eq(m.i32.and(l(1), c(m, 0xfff)), c(m, QUIT_SLOT)), m.return()),
      m.if(m.i32.and(m.i32.ne(l(1), g(EPOCH_GLOBAL)), m.i32.ne(l(1), c(m, 0))), m.block(null, [
        m.global.set(EPOCH_GLOBAL, l(1)),
        m.local.set(2, c(m, 0)),
        m.call_indirect(TABLE, m.i32.and(l(1), c(m, 0xfff)), [], binaryen.none, binaryen.none),
        m.br('jobs'),
      ])),
      m.local.set(2, m.i32.add(l(2), c(m, 1))),
      m.if(m.i32.gt_u(l(2), c(m, SPIN)), m.block(null, [
        // sleep until the next publication; reading `wake` before re-checking the job word loses no wake-up
        m.local.set(3, m.i32.atomic.load(0, c(m, T.wake))),
        m.drop(m.i32.atomic.rmw.add(0, c(m, T.sleepers), c(m, 1))),
        m.if(m.i32.eq(jobEpoch(m), g(EPOCH_GLOBAL)), m.drop(m.memory.atomic.wait32(c(m, T.wake), l(3), forever(m)))),
        m.drop(m.i32.atomic.rmw.sub(0, c(m, T.sleepers), c(m, 1))),
        m.local.set(2, c(m, 0)),
      ])),
      m.br('jobs'),
    ])),
  ]));
  m.addFunctionExport('worker', 'worker');
}
