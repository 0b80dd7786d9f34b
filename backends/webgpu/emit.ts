// The WebGPU backend's emit: a lowering plan -> the artifact runtime/webgpu loads. Each node's kernel returns its
// dispatches; operands (input j, output j, packed constant j, status) become buffer ranges from the plan; equal
// shader sources are stored once (the CPU forms' last). Fixed inputs are not fed (the artifact was specialised on them).

import { OnnxcError } from '../../ir/errors.js';
import { elementBytes, type LoweringPlan } from '../../lowering/plan.js';
import type { ValueRef } from '../../lowering/protocol.js';
import type { BindingRange, DispatchSpec, WebGpuArtifact, WebGpuIo } from '../../runtime/webgpu/types.js';
import type { KernelForm, Operand, ShaderGrid, WgKernel } from './kernels/types.js';

const STATUS_SLOT = 256;
/** A vec4 array binding must hold one element; every range is 256-byte aligned and padded, so 16 always fits. */
const MIN_BINDING = 16;
const align4 = (n: number): number => Math.ceil(n / 4) * 4;

export function emitWebGpu(plan: LoweringPlan<ValueRef, WgKernel>): WebGpuArtifact {
  const { prepared, source } = plan;
  const shaders: string[] = [];
  const shaderIndex = new Map<string, number>();
  const dispatches: DispatchSpec[] = [];
  const cpuForms: { at: number; form: KernelForm }[] = [];
  let statusSlots = 0;

  const indexOf = (src: string): number => {
    let si = shaderIndex.get(src);
    if (si === undefined) { si = shaders.length; shaders.push(src); shaderIndex.set(src, si); }
    return si;
  };

  const range = (name: string): BindingRange => {
    const p = plan.placeOf(name);
    const t = prepared.tensorType(name);
    const bytes = Math.max(MIN_BINDING, align4(t.dims.reduce((a, b) => a * b, 1) * elementBytes(t.dtype)));
    if (p.region === 'none') throw new OnnxcError(`value '${name}' is read by a kernel but was not laid out (internal planning error)`, { model: source });
    return { region: p.region, offset: p.offset, bytes };
  };

  for (const pn of plan.nodes) {
    if (pn.view) continue;
    const n = pn.node;
    const site = { model: source, node: n.name, op: n.op };
    const refs = (names: readonly string[]): (ValueRef | undefined)[] => names.map((v) => (v ? plan.valueRef(v) : undefined));
    let out;
    try {
      out = pn.kernel.lower({ node: n, attrs: pn.attrs, site, inputs: refs(n.inputs), outputs: refs(n.outputs), packed: pn.packed, view: false, inputRoots: n.inputs.map((v) => (v ? plan.rootOf(v) : undefined)) });
    } catch (e) {
      if (e instanceof OnnxcError) throw e.at(site);
      throw e;
    }
    let slot: number | undefined;
    const resolve = (o: Operand): BindingRange => {
      switch (o.kind) {
        case 'input': return range(n.inputs[o.index]!);
        case 'output': return range(n.outputs[o.index]!);
        case 'packed': {
          const p = pn.packed[o.index]!;
          return { region: 'weights', offset: p.offset, bytes: Math.max(MIN_BINDING, align4(p.size * elementBytes(p.dtype))) };
        }
        case 'status':
          slot ??= statusSlots++;
          return { region: 'status', offset: slot * STATUS_SLOT, bytes: STATUS_SLOT };
      }
    };
    for (const d of out) {
      const sg = d.subgroups ? { subgroups: { shader: indexOf(d.subgroups.shader), workgroups: [...d.subgroups.workgroups] as [number, number, number] } } : {};
      if (d.cpu) cpuForms.push({ at: dispatches.length, form: d.cpu });
      dispatches.push({ node: n.name, op: n.op, shader: indexOf(d.shader), bindings: d.operands.map(resolve), workgroups: [...d.workgroups] as [number, number, number], ...sg });
    }
  }
  // the CPU forms' shaders after every other, so the rest of the manifest is what it would be without them
  for (const { at, form } of cpuForms) {
    const grid = (g: ShaderGrid): { shader: number; workgroups: [number, number, number] } => ({ shader: indexOf(g.shader), workgroups: [...g.workgroups] as [number, number, number] });
    dispatches[at] = { ...dispatches[at]!, cpu: { ...grid(form), ...(form.subgroups ? { subgroups: grid(form.subgroups) } : {}) } };
  }

  const io = (name: string, as = name): WebGpuIo => {
    const t = prepared.tensorType(name);
    const p = plan.placeOf(name);
    if (p.region === 'none') throw new OnnxcError(`value '${name}' has no buffer (internal planning error)`, { model: source });
    return { name: as, dtype: t.dtype, dims: t.dims, region: p.region, offset: p.offset, bytes: t.dims.reduce((a, b) => a * b, 1) * elementBytes(t.dtype) };
  };
  const g = prepared.graph;
  const weights = plan.weights.contents();
  return {
    manifest: {
      format: 'onnxc-webgpu/1', model: source, arena: { bytes: plan.arena.arenaBytes }, weights: { bytes: weights.byteLength }, statusSlots,
      inputs: prepared.inputs.filter((i) => !prepared.fixed[i]).map((i) => io(i)),
      outputs: g.outputs.map((o) => io(o)),
      shaders, dispatches,
    },
    weights,
  };
}
