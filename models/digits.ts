// A labelled synthetic task for measuring accuracy (pruning, quantisation): 10 classes of procedurally drawn
// digits, seeded. Each digit is a stroke skeleton, jittered per vertex, then rotated, sheared, scaled, translated,
// drawn with a random stroke width and contrast on a noisy background with distractor strokes and specks, so a
// small CNN reaches high but not perfect accuracy and a bad pruning shows as lost points.

import { prng } from '../ir/random.js';

export const DIGIT_SIZE = 16;
export const DIGIT_CLASSES = 10;

type Pt = readonly [number, number];

/** An ellipse as a closed polyline (unit square coordinates, y down). */
const loop = (cx: number, cy: number, rx: number, ry: number, n = 12): Pt[] =>
  Array.from({ length: n + 1 }, (_, i) => [cx + rx * Math.sin((2 * Math.PI * i) / n), cy - ry * Math.cos((2 * Math.PI * i) / n)] as const);

/** Stroke skeletons per digit: each a list of polylines in the unit square. */
const SKELETONS: readonly (readonly Pt[][])[] = [
  [loop(0.5, 0.5, 0.28, 0.4)],
  [[[0.35, 0.25], [0.52, 0.1], [0.52, 0.9]]],
  [[[0.25, 0.3], [0.35, 0.12], [0.6, 0.1], [0.75, 0.25], [0.7, 0.45], [0.25, 0.9], [0.78, 0.9]]],
  [[[0.25, 0.15], [0.72, 0.15], [0.45, 0.45], [0.7, 0.6], [0.72, 0.8], [0.5, 0.9], [0.25, 0.84]]],
  [[[0.65, 0.9], [0.65, 0.1], [0.2, 0.65], [0.82, 0.65]]],
  [[[0.75, 0.1], [0.3, 0.1], [0.28, 0.45], [0.6, 0.42], [0.75, 0.6], [0.7, 0.82], [0.5, 0.9], [0.25, 0.85]]],
  [[[0.7, 0.12], [0.45, 0.2], [0.3, 0.45], [0.28, 0.7], [0.4, 0.88], [0.62, 0.88], [0.72, 0.7], [0.6, 0.52], [0.4, 0.52], [0.3, 0.62]]],
  [[[0.22, 0.1], [0.78, 0.1], [0.45, 0.9]]],
  [loop(0.5, 0.3, 0.2, 0.18), loop(0.5, 0.7, 0.24, 0.2)],
  [loop(0.5, 0.33, 0.22, 0.2), [[0.72, 0.35], [0.65, 0.9]]],
];

/** Distance from (px, py) to the segment a-b. */
function segDist(px: number, py: number, a: Pt, b: Pt): number {
  const dx = b[0] - a[0], dy = b[1] - a[1], len = dx * dx + dy * dy;
  const t = len > 0 ? Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len)) : 0;
  return Math.hypot(px - a[0] - t * dx, py - a[1] - t * dy);
}

/** Adds anti-aliased strokes (pixel coordinates) of `width` and `ink` into `img` (max, not sum). */
function drawStrokes(img: Float32Array, strokes: readonly Pt[][], width: number, ink: number): void {
  const S = DIGIT_SIZE;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let d = Infinity;
      for (const s of strokes) for (let i = 1; i < s.length; i++) d = Math.min(d, segDist(x + 0.5, y + 0.5, s[i - 1]!, s[i]!));
      const v = ink * Math.max(0, Math.min(1, width / 2 + 0.5 - d));
      if (v > img[y * S + x]!) img[y * S + x] = v;
    }
  }
}

/** Standard normal from two uniforms (Box-Muller). */
const gauss = (r: () => number): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** One image of `label` (DIGIT_SIZE², values around [0, 1]) from the seeded generator `r`. */
export function drawDigit(label: number, r: () => number): Float32Array {
  const S = DIGIT_SIZE, img = new Float32Array(S * S);
  const rot = (r() - 0.5) * 0.5, shear = (r() - 0.5) * 0.4, scale = S * (0.65 + 0.25 * r());
  const aspect = 0.8 + 0.35 * r(), tx = S / 2 + (r() - 0.5) * 4, ty = S / 2 + (r() - 0.5) * 4;
  const c = Math.cos(rot), s = Math.sin(rot), jitter = 0.025 + 0.025 * r();
  const place = (p: Pt): Pt => {
    const u = (p[0] - 0.5 + jitter * gauss(r)) * aspect, v = p[1] - 0.5 + jitter * gauss(r);
    const x = u + shear * v;
    return [tx + scale * (c * x - s * v), ty + scale * (s * x + c * v)];
  };
  const strokes = SKELETONS[label]!.map((line) => line.map(place));
  const bg = 0.25 * r();
  drawStrokes(img, strokes, 0.9 + 1.3 * r(), 0.55 + 0.45 * r());
  // distractors: short strokes and specks that are not part of the digit
  const extra = Math.floor(r() * 3);
  for (let k = 0; k < extra; k++) {
    const x0 = r() * S, y0 = r() * S, a = r() * Math.PI, l = 2 + 4 * r();
    drawStrokes(img, [[[x0, y0], [x0 + l * Math.cos(a), y0 + l * Math.sin(a)]]], 0.8 + 0.6 * r(), 0.25 + 0.4 * r());
  }
  const sigma = 0.03 + 0.15 * r();
  for (let i = 0; i < img.length; i++) img[i] = img[i]! + bg + sigma * gauss(r) + (r() < 0.02 ? 0.6 * r() : 0);
  return img;
}

export interface DigitSet {
  /** N x 1 x S x S, row-major. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

/** `count` seeded samples, labels cycling through the classes in a seeded order (balanced to within one). */
export function digitSet(count: number, seed: number): DigitSet {
  const r = prng(seed >>> 0), S2 = DIGIT_SIZE * DIGIT_SIZE;
  const images = new Float32Array(count * S2), labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % DIGIT_CLASSES;
    images.set(drawDigit(labels[i]!, r), i * S2);
  }
  // shuffle sample order so batches and slices are mixed
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const l = labels[i]!; labels[i] = labels[j]!; labels[j] = l;
    const a = images.slice(i * S2, (i + 1) * S2);
    images.copyWithin(i * S2, j * S2, (j + 1) * S2);
    images.set(a, j * S2);
  }
  return { images, labels, count };
}
