// Layers with hand-written backward passes and Adam, just enough to train the small CNNs of train-cnn.ts on the CPU
// in plain TypeScript (Float64, one sample at a time, deterministic). Each layer's forward caches what its backward
// needs, so a step is forward(sample) then backward(dLoss) before the next sample. Convolutions are im2col + loops
// over contiguous rows (stride 1, square kernels, zero padding), which is what keeps training under a minute.

export interface Act { readonly c: number; readonly h: number; readonly w: number; readonly data: Float64Array }
export interface Param { readonly name: string; readonly dims: readonly number[]; readonly value: Float64Array; readonly grad: Float64Array }

export interface Layer {
  forward(x: Act): Act;
  /** Gradient with respect to the input, accumulating parameter gradients. */
  backward(dy: Act): Act;
  params(): Param[];
}

const act = (c: number, h: number, w: number, data = new Float64Array(c * h * w)): Act => ({ c, h, w, data });
const param = (name: string, dims: number[]): Param => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, value: new Float64Array(n), grad: new Float64Array(n) };
};

/** He-uniform initialisation from a seeded generator. */
function heInit(p: Param, fanIn: number, r: () => number): void {
  const lim = Math.sqrt(6 / fanIn);
  for (let i = 0; i < p.value.length; i++) p.value[i] = (2 * r() - 1) * lim;
}

export class Conv implements Layer {
  readonly weight: Param;
  readonly bias: Param;
  private x?: Act;
  private cols = new Float64Array(0);
  constructor(readonly name: string, readonly cin: number, readonly cout: number, readonly k: number, r: () => number) {
    this.weight = param(`${name}.weight`, [cout, cin, k, k]);
    this.bias = param(`${name}.bias`, [cout]);
    heInit(this.weight, cin * k * k, r);
  }
  get pad(): number { return (this.k - 1) >> 1; }
  params(): Param[] { return [this.weight, this.bias]; }

  forward(x: Act): Act {
    this.x = x;
    const { k, cout } = this, K = x.c * k * k, P = x.h * x.w;
    if (this.cols.length !== K * P) this.cols = new Float64Array(K * P);
    im2col(x, k, this.pad, this.cols);
    const y = act(cout, x.h, x.w), W = this.weight.value, cols = this.cols;
    for (let o = 0; o < cout; o++) {
      const yo = o * P, b = this.bias.value[o]!;
      for (let p = 0; p < P; p++) y.data[yo + p] = b;
      for (let r = 0; r < K; r++) {
        const w = W[o * K + r]!, cr = r * P;
        for (let p = 0; p < P; p++) y.data[yo + p]! += w * cols[cr + p]!;
      }
    }
    return y;
  }

  backward(dy: Act): Act {
    const x = this.x!, { k, cout } = this, K = x.c * k * k, P = x.h * x.w;
    const W = this.weight.value, dW = this.weight.grad, cols = this.cols, dcols = new Float64Array(K * P);
    for (let o = 0; o < cout; o++) {
      const yo = o * P;
      let db = 0;
      for (let p = 0; p < P; p++) db += dy.data[yo + p]!;
      this.bias.grad[o]! += db;
      for (let r = 0; r < K; r++) {
        const cr = r * P, w = W[o * K + r]!;
        let s = 0;
        for (let p = 0; p < P; p++) { s += dy.data[yo + p]! * cols[cr + p]!; dcols[cr + p]! += w * dy.data[yo + p]!; }
        dW[o * K + r]! += s;
      }
    }
    const dx = act(x.c, x.h, x.w);
    col2im(dcols, k, this.pad, dx);
    return dx;
  }
}

/** cols[(c*k + i)*k + j][y*W + x] = x[c][y + i - pad][x + j - pad] (0 outside). */
function im2col(x: Act, k: number, pad: number, cols: Float64Array): void {
  const { c: C, h: H, w: Wd } = x, P = H * Wd;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const row = ((c * k + i) * k + j) * P;
        for (let y = 0; y < H; y++) {
          const sy = y + i - pad;
          for (let xx = 0; xx < Wd; xx++) {
            const sx = xx + j - pad;
            cols[row + y * Wd + xx] = sy >= 0 && sy < H && sx >= 0 && sx < Wd ? x.data[(c * H + sy) * Wd + sx]! : 0;
          }
        }
      }
    }
  }
}

function col2im(cols: Float64Array, k: number, pad: number, dx: Act): void {
  const { c: C, h: H, w: Wd } = dx, P = H * Wd;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const row = ((c * k + i) * k + j) * P;
        for (let y = 0; y < H; y++) {
          const sy = y + i - pad;
          if (sy < 0 || sy >= H) continue;
          for (let xx = 0; xx < Wd; xx++) {
            const sx = xx + j - pad;
            if (sx >= 0 && sx < Wd) dx.data[(c * H + sy) * Wd + sx]! += cols[row + y * Wd + xx]!;
          }
        }
      }
    }
  }
}

export class Relu implements Layer {
  private y?: Act;
  forward(x: Act): Act { this.y = act(x.c, x.h, x.w, x.data.map((v) => (v > 0 ? v : 0))); return this.y; }
  backward(dy: Act): Act { const y = this.y!; return act(dy.c, dy.h, dy.w, dy.data.map((g, i) => (y.data[i]! > 0 ? g : 0))); }
  params(): Param[] { return []; }
}

/** 2x2 max pooling, stride 2 (even sizes). */
export class MaxPool2 implements Layer {
  private arg = new Int32Array(0);
  private shape: [number, number, number] = [0, 0, 0];
  forward(x: Act): Act {
    const H = x.h >> 1, W = x.w >> 1, y = act(x.c, H, W);
    this.arg = new Int32Array(y.data.length);
    this.shape = [x.c, x.h, x.w];
    for (let c = 0; c < x.c; c++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          let best = -Infinity, at = 0;
          for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) {
            const s = (c * x.h + 2 * i + a) * x.w + 2 * j + b;
            if (x.data[s]! > best) { best = x.data[s]!; at = s; }
          }
          const o = (c * H + i) * W + j;
          y.data[o] = best; this.arg[o] = at;
        }
      }
    }
    return y;
  }
  backward(dy: Act): Act {
    const dx = act(...this.shape);
    for (let o = 0; o < dy.data.length; o++) dx.data[this.arg[o]!]! += dy.data[o]!;
    return dx;
  }
  params(): Param[] { return []; }
}

/** Global average pooling to C x 1 x 1. */
export class GlobalAvgPool implements Layer {
  private shape: [number, number, number] = [0, 0, 0];
  forward(x: Act): Act {
    this.shape = [x.c, x.h, x.w];
    const P = x.h * x.w, y = act(x.c, 1, 1);
    for (let c = 0; c < x.c; c++) { let s = 0; for (let p = 0; p < P; p++) s += x.data[c * P + p]!; y.data[c] = s / P; }
    return y;
  }
  backward(dy: Act): Act {
    const [C, H, W] = this.shape, P = H * W, dx = act(C, H, W);
    for (let c = 0; c < C; c++) for (let p = 0; p < P; p++) dx.data[c * P + p] = dy.data[c]! / P;
    return dx;
  }
  params(): Param[] { return []; }
}

/** y = W·flatten(x) + b with W [out, in] (exported as Flatten + Gemm transB=1). */
export class Linear implements Layer {
  readonly weight: Param;
  readonly bias: Param;
  private x?: Act;
  constructor(readonly name: string, readonly fin: number, readonly fout: number, r: () => number) {
    this.weight = param(`${name}.weight`, [fout, fin]);
    this.bias = param(`${name}.bias`, [fout]);
    heInit(this.weight, fin, r);
  }
  params(): Param[] { return [this.weight, this.bias]; }
  forward(x: Act): Act {
    this.x = x;
    const y = act(this.fout, 1, 1), W = this.weight.value;
    for (let o = 0; o < this.fout; o++) {
      let s = this.bias.value[o]!;
      for (let i = 0; i < this.fin; i++) s += W[o * this.fin + i]! * x.data[i]!;
      y.data[o] = s;
    }
    return y;
  }
  backward(dy: Act): Act {
    const x = this.x!, dx = act(x.c, x.h, x.w), W = this.weight.value, dW = this.weight.grad;
    for (let o = 0; o < this.fout; o++) {
      const g = dy.data[o]!;
      this.bias.grad[o]! += g;
      for (let i = 0; i < this.fin; i++) { dW[o * this.fin + i]! += g * x.data[i]!; dx.data[i]! += g * W[o * this.fin + i]!; }
    }
    return dx;
  }
}

/** x + body(x) (the body keeps the shape). */
export class Residual implements Layer {
  constructor(readonly body: readonly Layer[]) {}
  forward(x: Act): Act {
    const y = this.body.reduce((h, l) => l.forward(h), x);
    return act(x.c, x.h, x.w, y.data.map((v, i) => v + x.data[i]!));
  }
  backward(dy: Act): Act {
    const d = this.body.reduceRight((g, l) => l.backward(g), dy);
    return act(dy.c, dy.h, dy.w, d.data.map((v, i) => v + dy.data[i]!));
  }
  params(): Param[] { return this.body.flatMap((l) => l.params()); }
}

/** Softmax cross-entropy: the loss and its gradient with respect to the logits. */
export function softmaxXent(logits: Act, label: number): { loss: number; grad: Act; predicted: number } {
  const z = logits.data, m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
  let predicted = 0;
  for (let i = 1; i < z.length; i++) if (z[i]! > z[predicted]!) predicted = i;
  const grad = act(logits.c, 1, 1, e.map((v, i) => v / s - (i === label ? 1 : 0)));
  return { loss: Math.log(s) - (z[label]! - m), grad, predicted };
}

/** Adam on a list of parameters; `step` scales the accumulated gradients by 1/batch and clears them. */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  constructor(readonly params: readonly Param[], readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8) {
    this.m = params.map((p) => new Float64Array(p.value.length));
    this.v = params.map((p) => new Float64Array(p.value.length));
  }
  step(lr: number, batch: number, weightDecay = 0): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t, c2 = 1 - this.beta2 ** this.t;
    this.params.forEach((p, k) => {
      const m = this.m[k]!, v = this.v[k]!, decay = p.dims.length > 1 ? weightDecay : 0;
      for (let i = 0; i < p.value.length; i++) {
        const g = p.grad[i]! / batch;
        m[i] = this.beta1 * m[i]! + (1 - this.beta1) * g;
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * g * g;
        p.value[i] = p.value[i]! - lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + this.eps) + decay * p.value[i]!);
        p.grad[i] = 0;
      }
    });
  }
}
