// Which weights prune-weights removes: a weight seen as rows (one per output) of K inputs, scored by Wanda's
// |W_rk| * ||x_k|| (the weight times its input's activation norm on the calibration set), the lowest pruned per
// row: a fraction of each row (unstructured) or M-N of every M consecutive inputs (N:M, along K).

/** A weight as `rows` outputs x `K` inputs over its flat data: element (r, k) is at `r * rowStride + k * kStride`. */
export interface RowView {
  readonly rows: number;
  readonly K: number;
  readonly rowStride: number;
  readonly kStride: number;
}

export const at = (v: RowView, r: number, k: number): number => r * v.rowStride + k * v.kStride;

/** N:M: keep `n` of every `m` consecutive inputs. */
export interface NM { readonly n: number; readonly m: number }

export type PruneTarget = { readonly kind: 'unstructured'; readonly sparsity: number } | { readonly kind: 'nm'; readonly nm: NM };

/** Inputs pruned per row in unstructured mode: round(s*K), so every row has exactly this many. */
export const prunedPerRow = (K: number, sparsity: number): number => Math.min(K, Math.max(0, Math.round(sparsity * K)));

/** The pruning mask (1 = kept) of a weight, from per-element scores |W| * norm[k] (norm undefined: magnitude). */
export function wandaMask(w: Float32Array, v: RowView, target: PruneTarget, norm?: (r: number, k: number) => number): Uint8Array {
  const keep = new Uint8Array(w.length).fill(1);
  const score = new Float64Array(v.K);
  const idx = Array.from({ length: v.K }, (_, k) => k);
  for (let r = 0; r < v.rows; r++) {
    for (let k = 0; k < v.K; k++) score[k] = Math.abs(w[at(v, r, k)]!) * (norm ? norm(r, k) : 1);
    dropLowest(score, idx, target, (k) => { keep[at(v, r, k)] = 0; });
  }
  return keep;
}

/** Calls `drop(k)` for the lowest-scoring inputs of one row: per the target, over the whole row or per group of M.
 *  Ties go to the lower index, so the choice is deterministic. */
export function dropLowest(score: Float64Array, idx: number[], target: PruneTarget, drop: (k: number) => void, from = 0, to = score.length): void {
  const byScore = (a: number, b: number): number => score[a]! - score[b]! || a - b;
  if (target.kind === 'unstructured') {
    const part = idx.slice(from, to).sort(byScore);
    const n = prunedPerRow(to - from, target.sparsity);
    for (let i = 0; i < n; i++) drop(part[i]!);
    return;
  }
  const { n, m } = target.nm;
  for (let g = from; g + m <= to; g += m) {
    const part = idx.slice(g, g + m).sort(byScore);
    for (let i = 0; i < m - n; i++) drop(part[i]!);
  }
}

/** Whether `w` satisfies the target already: per row at least round(s*K) zeros, or at most N non-zeros per group. */
export function satisfies(w: Float32Array, v: RowView, target: PruneTarget): boolean {
  for (let r = 0; r < v.rows; r++) {
    if (target.kind === 'unstructured') {
      let zeros = 0;
      for (let k = 0; k < v.K; k++) if (w[at(v, r, k)] === 0) zeros++;
      if (zeros < prunedPerRow(v.K, target.sparsity)) return false;
    } else {
      const { n, m } = target.nm;
      for (let g = 0; g < v.K; g += m) {
        let nz = 0;
        for (let k = g; k < g + m; k++) if (w[at(v, r, k)] !== 0) nz++;
        if (nz > n) return false;
      }
    }
  }
  return true;
}
