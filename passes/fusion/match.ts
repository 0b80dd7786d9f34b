// Pattern-matching helpers the fusion passes share: who produces and who reads each value, constant scalars,
// commutative operand matching, and replacing a matched group of nodes by one node at the group's last position.

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { getNumber } from '../../ir/tensor.js';
import { namesRead } from '../graph-util.js';
import { isCommutative } from '../../ops/traits.js';

export class GraphIndex {
  readonly producer = new Map<string, Node>();
  readonly readers = new Map<string, Node[]>();
  readonly outputs: ReadonlySet<string>;
  constructor(readonly graph: Graph) {
    for (const n of graph.nodes) {
      for (const o of n.outputs) if (o !== '') this.producer.set(o, n);
      for (const i of new Set(namesRead(n))) {
        const list = this.readers.get(i) ?? [];
        list.push(n);
        this.readers.set(i, list);
      }
    }
    this.outputs = new Set(graph.outputs);
  }

  /** The node producing `name` when its op is one of `ops`. */
  producedBy(name: string, ...ops: string[]): Node | undefined {
    const n = this.producer.get(name);
    return n && ops.includes(n.op) ? n : undefined;
  }

  /** True when `name` feeds exactly one node (reading it once) and is not a graph output: fusing it away is safe. */
  singleUse(name: string): boolean {
    if (this.outputs.has(name)) return false;
    const rs = this.readers.get(name) ?? [];
    return rs.length === 1 && rs[0]!.inputs.filter((i) => i === name).length === 1;
  }

  /** The only reader of `name` when it is single-use. */
  soleReader(name: string): Node | undefined {
    return this.singleUse(name) ? this.readers.get(name)![0] : undefined;
  }

  constant(name: string): Tensor | undefined {
    return this.graph.initializers.get(name);
  }

  /** The value of a one-element float constant. */
  scalar(name: string): number | undefined {
    const t = this.constant(name);
    if (!t || t.data.length !== 1 || !['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype)) return undefined;
    return getNumber(t, 0);
  }
}

/** For a binary commutative node (the op's trait) with `name` as one operand, the other operand. */
export function otherOperand(node: Node, name: string): string | undefined {
  if (node.inputs.length !== 2 || !isCommutative(node.op)) return undefined;
  if (node.inputs[0] === name) return node.inputs[1];
  if (node.inputs[1] === name) return node.inputs[0];
  return undefined;
}

export function near(a: number | undefined, b: number, rel = 1e-4): boolean {
  return a !== undefined && Math.abs(a - b) <= rel * Math.abs(b);
}

/** Replace the nodes in `remove` by `replacement`, placed where the last removed node was (its inputs are all
 *  defined before that point because each was read by some removed node or defined earlier). */
export function replaceGroup(nodes: readonly Node[], remove: ReadonlySet<Node>, replacement: readonly Node[]): Node[] {
  let last = -1;
  nodes.forEach((n, i) => { if (remove.has(n)) last = i; });
  const out: Node[] = [];
  nodes.forEach((n, i) => {
    if (i === last) out.push(...replacement);
    else if (!remove.has(n)) out.push(n);
  });
  return out;
}
