// What the local rewrite passes outside fusion (fold-pad-conv, fold-conv-affine, sink-squeeze, one-hot-gather,
// prelu-leaky-relu, canonical-hard-activations) ask of a graph: the fusion passes' GraphIndex (producers, readers,
// single use) plus the values fixed at compile time and the values' types.

import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { TensorType } from '../ir/types.js';
import { GraphIndex } from './fusion/match.js';

export class GraphFacts extends GraphIndex {
  /** An initializer that is not also a graph input (those can be fed). */
  initializer(name: string | undefined): Tensor | undefined {
    if (name === undefined || name === '' || this.graph.inputs.includes(name)) return undefined;
    return this.graph.initializers.get(name);
  }

  /** A value fixed at compile time: such an initializer, or a Constant node's tensor. */
  fixed(name: string | undefined): Tensor | undefined {
    const t = this.initializer(name);
    if (t || name === undefined) return t;
    const v = this.producedBy(name, 'Constant')?.attrs['value'];
    return v?.kind === 'tensor' ? v.value : undefined;
  }

  type(name: string): TensorType | undefined {
    const t = this.graph.types.get(name);
    return t?.kind === 'tensor' ? t : undefined;
  }

  rank(name: string): number | undefined {
    return this.type(name)?.shape?.length;
  }

  /** The node making `name` when its op is `op` and `name` is read once (so the node can go with a rewrite). */
  only(name: string | undefined, op: string): Node | undefined {
    return name !== undefined && this.singleUse(name) ? this.producedBy(name, op) : undefined;
  }
}
