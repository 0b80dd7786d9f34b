// Binaryen's IR must be a tree: one expression object used in two places (a DAG) validates, runs, and is then
// silently miscompiled by passes that rewrite nodes in place (reorder-locals renumbers a shared local.get twice).
// This walk finds such sharing; emitWasm runs it when ONNXC_CHECK_TREE is set (the test suite and conformance do).

import binaryen from './binaryen.js';

const B = binaryen;

/** Child-expression fields per expression id (only the ids our kernels emit; others are refused below). */
const CHILDREN: Readonly<Record<number, readonly string[]>> = {
  [B.BlockId]: ['children'], [B.IfId]: ['condition', 'ifTrue', 'ifFalse'], [B.LoopId]: ['body'],
  [B.BreakId]: ['condition', 'value'], [B.SwitchId]: ['condition', 'value'], [B.CallId]: ['operands'],
  [B.CallIndirectId]: ['target', 'operands'], [B.LocalGetId]: [], [B.LocalSetId]: ['value'], [B.GlobalGetId]: [],
  [B.GlobalSetId]: ['value'], [B.LoadId]: ['ptr'], [B.StoreId]: ['ptr', 'value'], [B.ConstId]: [],
  [B.UnaryId]: ['value'], [B.BinaryId]: ['left', 'right'], [B.SelectId]: ['ifTrue', 'ifFalse', 'condition'],
  [B.DropId]: ['value'], [B.ReturnId]: ['value'], [B.MemorySizeId]: [], [B.MemoryGrowId]: ['delta'], [B.NopId]: [],
  [B.UnreachableId]: [], [B.AtomicRMWId]: ['ptr', 'value'], [B.AtomicCmpxchgId]: ['ptr', 'expected', 'replacement'],
  [B.AtomicWaitId]: ['ptr', 'expected', 'timeout'], [B.AtomicNotifyId]: ['ptr', 'notifyCount'], [B.AtomicFenceId]: [],
  [B.SIMDExtractId]: ['vec'], [B.SIMDReplaceId]: ['vec', 'value'], [B.SIMDShuffleId]: ['left', 'right'],
  [B.SIMDTernaryId]: ['a', 'b', 'c'], [B.SIMDShiftId]: ['vec', 'shift'], [B.SIMDLoadId]: ['ptr'],
  [B.SIMDLoadStoreLaneId]: ['ptr', 'vec'], [B.MemoryInitId]: ['dest', 'offset', 'size'], [B.DataDropId]: [],
  [B.MemoryCopyId]: ['dest', 'source', 'size'], [B.MemoryFillId]: ['dest', 'value', 'size'],
};

/** Names of the functions whose bodies share an expression object between two places (empty: every body is a
 *  tree). Throws on an expression kind this walk does not know, rather than passing it unchecked. */
export function sharedExpressions(m: binaryen.Module): string[] {
  const bad: string[] = [];
  const seen = new Set<number>();
  for (let f = 0; f < m.getNumFunctions(); f++) {
    const info = B.getFunctionInfo(m.getFunctionByIndex(f));
    if (info.body === 0) continue; // an import
    const stack = [info.body];
    let shared = false;
    while (stack.length > 0 && !shared) {
      const e = stack.pop()!;
      if (seen.has(e)) { shared = true; break; }
      seen.add(e);
      const id = B.getExpressionId(e);
      const fields = CHILDREN[id];
      if (fields === undefined) throw new Error(`tree check: expression id ${id} in '${info.name}' is not walked`);
      if (fields.length === 0) continue;
      const ex = B.getExpressionInfo(e) as unknown as Record<string, unknown>;
      for (const k of fields) {
        const v = ex[k];
        if (Array.isArray(v)) { for (const c of v as number[]) if (c) stack.push(c); } else if (typeof v === 'number' && v !== 0) stack.push(v);
      }
    }
    if (shared) bad.push(info.name);
  }
  return bad;
}
