// The WebGPU artifact as the runtime reads it: WGSL sources (each compiled once, shared by every dispatch that
// uses it), the dispatch list in execution order, the two buffers (arena, weights) and where inputs and outputs
// live. Declarations only; backends/webgpu/emit.ts writes it.

export interface WebGpuManifest {
  readonly format: 'onnxc-webgpu/1';
  readonly model: string;
  /** The run-time buffer every activation lives in (offsets 256-byte aligned). */
  readonly arena: { readonly bytes: number };
  /** The constant buffer, uploaded once at session creation; `file` names its side file in an artifact folder. */
  readonly weights: { readonly bytes: number; readonly file?: string };
  /** Status slots (256 bytes each) kernels that check indices write into; 0 when no kernel checks. */
  readonly statusSlots: number;
  readonly inputs: readonly WebGpuIo[];
  readonly outputs: readonly WebGpuIo[];
  /** WGSL sources; a shader's text is its identity (what it runs with is in the dispatch). */
  readonly shaders: readonly string[];
  readonly dispatches: readonly DispatchSpec[];
}

export interface WebGpuIo {
  readonly name: string;
  readonly dtype: string;
  readonly dims: readonly number[];
  readonly region: 'arena' | 'weights';
  readonly offset: number;
  readonly bytes: number;
  /** 'int64': an input stored as int32 (`dtype`) but fed as int64; the runtime checks every value fits in int32
   *  before narrowing it, so the stored value is exact (backends/webgpu/narrow-int64.ts). */
  readonly feed?: 'int64';
}

/** A range of one of the session's buffers bound to a shader binding (in binding order). */
export interface BindingRange {
  readonly region: 'arena' | 'weights' | 'status';
  readonly offset: number;
  readonly bytes: number;
}

export interface DispatchSpec {
  /** The node (as named in the model) and op this dispatch computes, for errors and profiles. */
  readonly node: string;
  readonly op: string;
  readonly shader: number;
  readonly bindings: readonly BindingRange[];
  readonly workgroups: readonly [number, number, number];
  /** The same dispatch for devices with the `subgroups` feature and subgroups of at least 8 lanes (its shader
   *  enables WGSL's subgroups extension); the runtime takes it there, `shader` elsewhere. */
  readonly subgroups?: { readonly shader: number; readonly workgroups: readonly [number, number, number] };
  /** Where the dispatch above splits its work for big GPUs (K or input channels in slices, lane groups per row):
   *  the one-invocation-per-tile/row form, which CPU adapters (lavapipe, SwiftShader) run faster; same bindings,
   *  its own shader, grid and subgroup form. The runtime picks the forms per device (forms.ts). */
  readonly cpu?: DispatchForm;
}

/** A dispatch's shader and grid, with its subgroup variant. */
export interface DispatchForm {
  readonly shader: number;
  readonly workgroups: readonly [number, number, number];
  readonly subgroups?: { readonly shader: number; readonly workgroups: readonly [number, number, number] };
}

/** An artifact in memory: the manifest and the weights' bytes. */
export interface WebGpuArtifact {
  readonly manifest: WebGpuManifest;
  readonly weights: Uint8Array;
}
