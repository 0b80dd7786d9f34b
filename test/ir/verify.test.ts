// The IR verifier (ir/verify.ts) and the op-level verifier (ops/verify-ops.ts): one negative case per rule,
// the cases that must pass (outer-scope reads, shadowing subgraph inputs, initializer-as-input), and
// generated graphs that must verify, run, and stay finite.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../backends/reference/interpreter.js';
import { VerifyError } from '../../ir/errors.js';
import type { Attr, Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { fromValues } from '../../ir/tensor.js';
import type { ValueType } from '../../ir/types.js';
import { tensorType } from '../../ir/types.js';
import { isTensor } from '../../ir/value.js';
import { verifyGraph } from '../../ir/verify.js';
import { getOp } from '../../ops/index.js';
import { verifyOps } from '../../ops/verify-ops.js';
import { arbitraryGraph, usableOps } from '../helpers/arbitrary-graph.js';

const f = (shape?: (number | string)[]): ValueType => tensorType('float32', shape);
const node = (name: string, op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): Node =>
  ({ name, op, inputs, outputs, attrs });

/** x -> Relu -> r -> Add(r, w) -> y, with w an initializer. */
function base(over: Partial<Graph> = {}): Graph {
  return {
    name: 'g', inputs: ['x'], outputs: ['y'],
    nodes: [node('n0', 'Relu', ['x'], ['r']), node('n1', 'Add', ['r', 'w'], ['y'])],
    initializers: new Map<string, Tensor>([['w', fromValues('float32', [2], [1, 2])]]),
    types: new Map([['x', f(['N', 2])], ['r', f(['N', 2])], ['w', f([2])], ['y', f(['N', 2])]]),
    ...over,
  };
}

function withTypes(g: Graph, edit: (m: Map<string, ValueType>) => void): Graph {
  const types = new Map(g.types);
  edit(types);
  return { ...g, types };
}

function expectVerifyError(g: Graph, re: RegExp, nodeName?: string): void {
  let err: unknown;
  try { verifyGraph(g); } catch (e) { err = e; }
  expect(err, 'verifyGraph should throw').toBeInstanceOf(VerifyError);
  expect((err as Error).message).toMatch(re);
  if (nodeName !== undefined) expect((err as VerifyError).site.node).toBe(nodeName);
}

describe('verifyGraph accepts', () => {
  it('a well-formed graph', () => { expect(() => verifyGraph(base())).not.toThrow(); });

  it('omitted optional inputs and unused optional outputs', () => {
    const g = base({ nodes: [node('n0', 'Relu', ['x'], ['r', '']), node('n1', 'Add', ['r', 'w', ''], ['y'])] });
    expect(() => verifyGraph(g)).not.toThrow();
  });

  it('an initializer that is also a graph input (an overridable default), even with a symbolic type', () => {
    const g = withTypes(base({ inputs: ['x', 'w'] }), (t) => t.set('w', f(['K'])));
    expect(() => verifyGraph(g)).not.toThrow();
  });

  it('a subgraph reading outer values defined before its node, and a subgraph input shadowing an outer name', () => {
    const body: Graph = {
      name: 'body', inputs: ['x'], outputs: ['o'],
      nodes: [node('b0', 'Add', ['x', 'r'], ['o'])],
      initializers: new Map(), types: new Map([['x', f([2])], ['o', f([2])]]),
    };
    const passthrough: Graph = { name: 'else', inputs: [], outputs: ['r'], nodes: [], initializers: new Map(), types: new Map() };
    const g = withTypes(base({
      nodes: [...base().nodes, node('if', 'If', ['c'], ['z'], { then_branch: { kind: 'graph', value: body }, else_branch: { kind: 'graph', value: passthrough } })],
      inputs: ['x', 'c'],
    }), (t) => { t.set('c', tensorType('bool', [])); t.set('z', f([2])); });
    expect(() => verifyGraph(g)).not.toThrow();
  });
});

describe('verifyGraph rejects, naming the rule', () => {
  it('SSA: a node output redefining a graph input', () => {
    expectVerifyError(base({ nodes: [node('n0', 'Relu', ['x'], ['x']), node('n1', 'Add', ['x', 'w'], ['y'])] }), /output 0 'x' is already defined .*SSA/, 'n0');
  });
  it('SSA: two nodes defining the same value', () => {
    expectVerifyError(base({ nodes: [node('n0', 'Relu', ['x'], ['y']), node('n1', 'Add', ['x', 'w'], ['y'])] }), /'y' is already defined/, 'n1');
  });
  it('SSA: a node output redefining an initializer', () => {
    expectVerifyError(base({ nodes: [node('n0', 'Relu', ['x'], ['w']), node('n1', 'Add', ['x', 'w'], ['y'])] }), /'w' is already defined/, 'n0');
  });
  it('a graph input listed twice', () => {
    expectVerifyError(base({ inputs: ['x', 'x'] }), /graph input 'x' is listed twice/);
  });
  it('use before definition (nodes out of order)', () => {
    const [a, b] = base().nodes;
    expectVerifyError(base({ nodes: [b!, a!] }), /input 0 'r' is defined later by node 'n0' \(Relu\): nodes are not in topological order or form a cycle/, 'n1');
  });
  it('a cycle through a node reading its own output', () => {
    expectVerifyError(base({ nodes: [node('n0', 'Add', ['x', 'r'], ['r']), node('n1', 'Add', ['r', 'w'], ['y'])] }), /'r' is the node's own output \(a cycle\)/, 'n0');
  });
  it('an input that is never defined', () => {
    expectVerifyError(base({ nodes: [node('n0', 'Relu', ['nope'], ['r']), node('n1', 'Add', ['r', 'w'], ['y'])] }), /input 0 'nope' is not defined in this graph or an enclosing one/, 'n0');
  });
  it('a graph output that is never defined', () => {
    expectVerifyError(base({ outputs: ['y', 'ghost'] }), /graph output 'ghost' is not defined/);
  });
  it('a graph input without a type', () => {
    expectVerifyError(withTypes(base(), (t) => t.delete('x')), /graph input 'x' has no type/);
  });
  it('a node output without a type', () => {
    expectVerifyError(withTypes(base(), (t) => t.delete('r')), /output 0 'r' has no type/, 'n0');
  });
  it('an initializer without a type', () => {
    expectVerifyError(withTypes(base(), (t) => t.delete('w')), /initializer 'w' has no type/);
  });
  it('an initializer whose dtype disagrees with its type', () => {
    expectVerifyError(withTypes(base(), (t) => t.set('w', tensorType('int32', [2]))), /initializer 'w' holds float32\[2\] but its type is int32\[2\]/);
  });
  it('an initializer whose dims disagree with its type', () => {
    expectVerifyError(withTypes(base(), (t) => t.set('w', f([3]))), /initializer 'w' has dims \[2\] but its type is float32\[3\]/);
  });
  it('an initializer whose data length disagrees with its dims', () => {
    const bad: Tensor = { dtype: 'float32', dims: [2], data: new Float32Array(3) };
    expectVerifyError(base({ initializers: new Map([['w', bad]]) }), /initializer 'w': dims \[2\] need 2 elements, the data has 3/);
  });
  it('an initializer stored in the wrong typed array', () => {
    const bad = { dtype: 'int64', dims: [2], data: new Int32Array(2) } as unknown as Tensor;
    expectVerifyError(withTypes(base({ initializers: new Map([['w', bad]]) }), (t) => t.set('w', tensorType('int64', [2]))), /int64 data must be a BigInt64Array, found a Int32Array/);
  });
  it('a malformed dim in a type', () => {
    expectVerifyError(withTypes(base(), (t) => t.set('r', f([-1, 2]))), /bad dim -1 in float32\[-1,2\]/, 'n0');
  });
  it('node names used twice (also across subgraphs)', () => {
    const body: Graph = { name: 'b', inputs: [], outputs: ['o'], nodes: [node('n0', 'Relu', ['x'], ['o'])], initializers: new Map(), types: new Map([['o', f()]]) };
    const g = withTypes(base({ nodes: [...base().nodes, node('n2', 'If', ['x'], ['z'], { then_branch: { kind: 'graph', value: body } })] }), (t) => t.set('z', f()));
    expectVerifyError(g, /node name 'n0' is used twice/, 'n0');
  });
  it('a subgraph node output redefining an outer name', () => {
    const body: Graph = { name: 'b', inputs: [], outputs: ['r'], nodes: [node('b0', 'Relu', ['x'], ['r'])], initializers: new Map(), types: new Map([['r', f()]]) };
    const g = withTypes(base({ nodes: [...base().nodes, node('n2', 'If', ['x'], ['z'], { then_branch: { kind: 'graph', value: body } })] }), (t) => t.set('z', f()));
    expectVerifyError(g, /graph 'b': output 0 'r' redefines a name of an enclosing graph/, 'b0');
  });
  it('a subgraph reading an outer value defined after its node', () => {
    const body: Graph = { name: 'b', inputs: [], outputs: ['o'], nodes: [node('b0', 'Relu', ['y'], ['o'])], initializers: new Map(), types: new Map([['o', f()]]) };
    const g = withTypes(base({ nodes: [base().nodes[0]!, node('n2', 'If', ['x'], ['z'], { then_branch: { kind: 'graph', value: body } }), base().nodes[1]!] }), (t) => t.set('z', f()));
    expectVerifyError(g, /graph 'b': input 0 'y' is not defined in this graph or an enclosing one/, 'b0');
  });
  it('an attribute tensor with inconsistent data', () => {
    const bad: Tensor = { dtype: 'float32', dims: [3], data: new Float32Array(1) };
    const g = base({ nodes: [node('n0', 'Relu', ['x'], ['r'], { value: { kind: 'tensor', value: bad } }), base().nodes[1]!] });
    expectVerifyError(g, /attribute 'value': dims \[3\] need 3 elements/, 'n0');
  });
});

const haveOps = ['Relu', 'Add', 'Transpose'].every((op) => getOp(op) !== undefined);

describe.skipIf(!haveOps)('verifyOps (needs Relu, Add and Transpose in the registry)', () => {
  const ok = (): Graph => base({
    nodes: [node('n0', 'Relu', ['x'], ['r']), node('n1', 'Add', ['r', 'w'], ['y'])],
  });
  const expectOpsError = (g: Graph, re: RegExp): void => {
    let err: unknown;
    try { verifyOps(g); } catch (e) { err = e; }
    expect(err, 'verifyOps should throw').toBeInstanceOf(VerifyError);
    expect((err as Error).message).toMatch(re);
  };

  it('accepts a graph whose types agree with inference (symbols match anything)', () => {
    expect(() => verifyOps(ok())).not.toThrow();
    expect(() => verifyOps(withTypes(ok(), (t) => t.set('y', f(['M', 2]))))).not.toThrow();
  });
  it('rejects an unknown op', () => {
    expectOpsError(base({ nodes: [node('n0', 'NoSuchOp', ['x'], ['r']), base().nodes[1]!] }), /op 'NoSuchOp' is not a known ai.onnx op/);
  });
  it('rejects a wrong number of inputs or outputs', () => {
    expectOpsError(base({ nodes: [node('n0', 'Relu', ['x', 'x'], ['r']), base().nodes[1]!] }), /has 2 inputs; Relu takes 1/);
    expectOpsError(base({ nodes: [node('n0', 'Relu', ['x'], ['r', 'q']), base().nodes[1]!] }), /has 2 outputs; Relu gives 1/);
  });
  it('rejects attributes the op does not take, of the wrong kind, or missing', () => {
    expectOpsError(base({ nodes: [node('n0', 'Relu', ['x'], ['r'], { alpha: { kind: 'float', value: 1 } }), base().nodes[1]!] }), /attribute 'alpha' is not one Relu takes/);
    const t = (perm: Attr | undefined): Graph => withTypes(base({
      nodes: [node('n0', 'Transpose', ['x'], ['r'], perm ? { perm } : {}), base().nodes[1]!],
    }), (m) => m.set('r', f([2, 'N'])));
    expectOpsError(t({ kind: 'int', value: 1 }), /attribute 'perm' is int; Transpose expects ints/);
    expect(() => verifyOps(t({ kind: 'ints', value: [1, 0] }))).not.toThrow();
  });
  it('rejects recorded types that disagree with inference', () => {
    expectOpsError(withTypes(ok(), (t) => t.set('y', f(['N', 3]))), /output 0 'y' is recorded as float32\[N,3\] but infer gives float32\[N,2\]/);
    expectOpsError(withTypes(ok(), (t) => t.set('r', tensorType('int32', ['N', 2]))), /'r' is recorded as int32\[N,2\]/);
  });
  it('rejects inputs that inference refuses', () => {
    expectOpsError(withTypes(ok(), (t) => t.set('w', f([3]))), /infer rejects the recorded input types/);
  });
});

describe('generated graphs', () => {
  it('verify structurally (IR-only generation, any registry)', () => {
    fc.assert(fc.property(arbitraryGraph({ requireRegistered: false, maxNodes: 12 }), ({ graph }) => {
      verifyGraph(graph);
    }), { numRuns: 200 });
  });

  let registered: string[] = [];
  try { registered = usableOps(); } catch { /* no generator op is registered yet */ }

  it.skipIf(registered.length === 0)('agree with the registry: verifyOps passes, and the reference run gives finite values of the recorded shapes', () => {
    fc.assert(fc.property(arbitraryGraph({ maxNodes: 10 }), ({ graph, inputs }) => {
      verifyGraph(graph);
      verifyOps(graph);
      const outs = runGraph(graph, graph.inputs.map((n) => inputs.get(n)));
      outs.forEach((v, i) => {
        if (!isTensor(v)) throw new Error('tensor expected');
        const t = graph.types.get(graph.outputs[i]!);
        expect(t).toEqual(tensorType('float32', v.dims));
        for (const x of v.data as Float32Array) expect(Number.isFinite(x)).toBe(true);
      });
    }), { numRuns: 200 });
  });
});
